// What the owner is asked before forgetting a camera, the same in Settings and in the viewer's
// offline row (which asks in a dialog of its own: a blocking confirm() there would stop every
// tile's picture and sound while it waits).

/** The question before forgetting a camera. */
export function forgetQuestion(name: string): string {
  return `Forget “${name}”? It leaves the list. If its device streams again, it comes back as a new camera.`;
}

/** Asks whether to forget an offline camera, then whether its recordings go too (they stay unless the owner says so); the forget request's body, or null when the owner said no. */
export function askToForget(c: { id: string; name: string }): { id: string; deleteRecordings: boolean } | null {
  if (!confirm(forgetQuestion(c.name))) return null;
  const deleteRecordings = confirm(`Also delete the recordings of “${c.name}”? OK deletes them for good; Cancel keeps them (Recordings still shows them).`);
  return { id: c.id, deleteRecordings };
}
