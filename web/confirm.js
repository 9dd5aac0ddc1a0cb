// confirm.js — owns the in-page confirm dialog (#confirm-dialog in
// index.html). It answers a Promise<boolean> instead of using window.confirm,
// so keyboard users and browser tests can drive it like any other button.

const dialog = () => document.getElementById('confirm-dialog');

/**
 * Shows the dialog and resolves true for #confirm-yes, false for #confirm-no
 * or Escape. Focus starts on the safe answer and returns to `returnFocus`.
 */
export function askConfirm({ title, message, yes = 'Yes', no = 'Cancel', returnFocus }) {
  const box = dialog();
  const yesButton = document.getElementById('confirm-yes');
  const noButton = document.getElementById('confirm-no');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-message').textContent = message;
  yesButton.textContent = yes;
  noButton.textContent = no;

  return new Promise((resolve) => {
    const finish = (answer) => {
      yesButton.removeEventListener('click', onYes);
      noButton.removeEventListener('click', onNo);
      box.removeEventListener('cancel', onCancel);
      if (box.open) box.close();
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      resolve(answer);
    };
    const onYes = () => finish(true);
    const onNo = () => finish(false);
    const onCancel = (event) => {
      event.preventDefault();
      finish(false);
    };

    yesButton.addEventListener('click', onYes);
    noButton.addEventListener('click', onNo);
    box.addEventListener('cancel', onCancel);
    box.showModal();
    noButton.focus();
  });
}
