# A stand-in for GStreamer's `autovideoflip` (new in GStreamer 1.24) for Debian 12's GStreamer 1.22.
#
# WebKitGTK 2.50 builds its MediaRecorder video pipeline with an element named `autovideoflip` and
# sets its `video-direction` to "auto" (follow the stream's image-orientation tag); without one the
# recording has no video (0 bytes, or the page crashes). This bin holds the classic `videoflip`,
# which does the same job on system memory, and passes `video-direction` on to it.
#
# Found through GST_PLUGIN_PATH=<this folder's parent> by the GStreamer Python loader
# (gstreamer1.0-python3-plugin-loader); test/webkit/setup.sh builds a registry with it.
import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstVideo', '1.0')
from gi.repository import GObject, Gst, GstVideo  # noqa: E402

# No Gst.init(): the loader imports this module while GStreamer is scanning plugins.

_ANY = Gst.Caps.new_any()


class AutoVideoFlip(Gst.Bin):
    __gstmetadata__ = (
        'Flip and rotate video (videoflip stand-in)',
        'Filter/Effect/Video',
        'autovideoflip for GStreamer < 1.24: a bin around videoflip, for WebKitGTK in tests',
        'websocket-webcam tests',
    )
    __gsttemplates__ = (
        Gst.PadTemplate.new('sink', Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, _ANY),
        Gst.PadTemplate.new('src', Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, _ANY),
    )

    def __init__(self):
        super().__init__()
        self._direction = GstVideo.VideoOrientationMethod.IDENTITY
        self._flip = Gst.ElementFactory.make('videoflip', 'flip')
        if self._flip is None:
            raise RuntimeError('videoflip is missing (install gstreamer1.0-plugins-good)')
        self.add(self._flip)
        for name in ('sink', 'src'):
            target = self._flip.get_static_pad(name)
            self.add_pad(Gst.GhostPad.new_from_template(name, target, self.get_pad_template(name)))

    # The same type as videoflip's (and the real autovideoflip's) property, so that
    # gst_util_set_object_arg(element, "video-direction", "auto") parses the nick as WebKit expects.
    @GObject.Property(
        type=GstVideo.VideoOrientationMethod,
        default=GstVideo.VideoOrientationMethod.IDENTITY,
        nick='Video direction',
        blurb='Rotation or flip; "auto" follows the image-orientation tag',
    )
    def video_direction(self):
        return self._direction

    @video_direction.setter
    def video_direction(self, value):
        self._direction = value
        self._flip.set_property('video-direction', value)


GObject.type_register(AutoVideoFlip)
__gstelementfactory__ = ('autovideoflip', Gst.Rank.NONE, AutoVideoFlip)
