#!/usr/bin/env bash
# Makes this machine ready for the WebKit tests (test/helpers/webkit.ts), on Debian 12 (bookworm):
#   - Debian's WebKitGTK (MiniBrowser, driven by WebKitWebDriver) and Xvfb to run it in;
#   - the GStreamer plugins WebKitGTK records, encodes and decodes media with (x264, AAC, libav), and
#     the GStreamer Python loader for the project's `autovideoflip` stand-in (gst/python/), which
#     Debian's GStreamer 1.22 lacks and WebKit's MediaRecorder needs;
#   - a GStreamer registry that includes the stand-in, built now rather than inside the browser.
# Installing needs root (it runs apt-get only when a package is missing); the registry does not.
# Safe to run again: it only does what is not done yet. Used by .ci/run; developers run it once.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# Keep in step with test/helpers/webkit.ts (GST_PLUGIN_DIR, GST_REGISTRY).
plugin_dir="$here/gst"
registry="${WSW_WEBKIT_GST_REGISTRY:-$repo/.tmp/webkit/gst-registry.bin}"

packages=(
  webkit2gtk-driver            # WebKitWebDriver and, through libwebkit2gtk-4.1, MiniBrowser
  xvfb                         # WebKitGTK has no headless mode
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav gstreamer1.0-gl libgl1-mesa-dri
  gstreamer1.0-python3-plugin-loader python3-gst-1.0   # loads gst/python/autovideoflip.py
  gstreamer1.0-tools           # gst-inspect-1.0, to build the registry below
)

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "webkit setup: missing packages: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "webkit setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package lists fetched in the last hour (e.g. by .ci/run a moment ago) are fresh enough.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null)" ]; then
    apt-get update
  fi
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

# A registry built with the stand-in, newer than the stand-in itself (GStreamer would otherwise
# scan every plugin again inside the browser's web process, with the Python loader, at first use).
if [ ! -s "$registry" ] || [ "$plugin_dir/python/autovideoflip.py" -nt "$registry" ]; then
  mkdir -p "$(dirname "$registry")"
  rm -f "$registry"
  # (gst-python 1.22 prints a harmless "should be floating" warning for Python elements.)
  if ! GST_REGISTRY="$registry" GST_PLUGIN_PATH="$plugin_dir" gst-inspect-1.0 autovideoflip >/dev/null 2>"$registry.log"; then
    cat "$registry.log" >&2
    echo "webkit setup: GStreamer cannot load $plugin_dir/python/autovideoflip.py" >&2
    exit 1
  fi
  rm -f "$registry.log"
  echo "webkit setup: GStreamer registry with autovideoflip in $registry"
fi
