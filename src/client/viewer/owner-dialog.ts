// The viewer's questions to the owner (rename a camera, forget one), in a <dialog>: unlike
// prompt() and confirm(), it leaves the page running, so every tile keeps its picture and sound
// (and keeps reading its stream) while the owner thinks.
import { forgetQuestion } from '../common/camera-actions.ts';
import { h } from '../common/dom.ts';

const dialog = h('dialog', { className: 'owner-dialog' });
dialog.setAttribute('aria-labelledby', 'owner-dialog-title');
document.body.append(dialog);

/** Shows `fields` with Cancel and `ok`; resolves true when the owner pressed `ok` (Esc and Cancel are no). */
function ask(title: string, fields: Node[], ok: string): Promise<boolean> {
  const cancel = h('button', { type: 'submit', value: 'cancel', textContent: 'Cancel' });
  cancel.setAttribute('formnovalidate', '');
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'owner-dialog-title', textContent: title }),
    ...fields,
    h('p', { className: 'owner-dialog-buttons' }, cancel, h('button', { type: 'submit', value: 'ok', className: 'primary', textContent: ok })),
  );
  dialog.replaceChildren(form);
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** The new name the owner typed for a camera, or null (cancelled, or unchanged). */
export async function askNewName(name: string): Promise<string | null> {
  const input = h('input', { type: 'text', value: name, maxLength: 64, required: true, name: 'name' });
  input.setAttribute('aria-label', `New name for ${name}`);
  const shown = ask(`Rename “${name}”`, [input], 'Save');
  input.select();
  const wanted = (await shown) ? input.value.trim() : '';
  return wanted && wanted !== name ? wanted : null;
}

/** Whether to forget an offline camera, and its recordings too (kept unless the owner ticks the box); null when the owner said no. */
export async function askToForgetHere(c: { id: string; name: string }): Promise<{ id: string; deleteRecordings: boolean } | null> {
  const box = h('input', { type: 'checkbox', name: 'delete' });
  const fields = [h('p', { textContent: forgetQuestion(c.name) }), h('label', { className: 'owner-dialog-check' }, box, ' Also delete its recordings, for good (otherwise Recordings keeps them)')];
  return (await ask('Forget a camera', fields, 'Forget')) ? { id: c.id, deleteRecordings: box.checked } : null;
}

const note = h('p', { className: 'owner-note', hidden: true });
note.setAttribute('role', 'alert');
document.body.append(note);
let noteTimer: ReturnType<typeof setTimeout> | undefined;

/** Says what went wrong (the server's words) for a few seconds, over the bottom of the page. */
export function tellOwner(text: string): void {
  note.textContent = text;
  note.hidden = false;
  clearTimeout(noteTimer);
  noteTimer = setTimeout(() => (note.hidden = true), 8000);
}
