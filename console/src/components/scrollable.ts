/** What may scroll inside its own box: tables on narrow screens (styles.css), code, `.scroll` wrappers. */
const CANDIDATES = 'table, pre, .scroll';
const MARK = 'data-keyboard-scroll';

const scrolls = (el: HTMLElement) => {
  const style = getComputedStyle(el);
  const can = (overflow: string) => overflow === 'auto' || overflow === 'scroll';
  return (can(style.overflowX) && el.scrollWidth > el.clientWidth + 1) || (can(style.overflowY) && el.scrollHeight > el.clientHeight + 1);
};

/**
 * Keeps every box under `root` that scrolls (and so hides part of its content) in the tab order, so that a
 * keyboard can reach it and scroll it with the arrow keys (WCAG 2.1.1; axe's scrollable-region-focusable): it gets
 * `tabindex=0` while it scrolls and loses it when it no longer does (a wider window, other content). Elements with
 * a tabindex of their own are left alone. Answers the function that stops watching.
 */
export function keepScrollablesFocusable(root: HTMLElement): () => void {
  let frame = 0;
  const update = () => {
    frame = 0;
    for (const el of root.querySelectorAll<HTMLElement>(CANDIDATES)) {
      const marked = el.hasAttribute(MARK);
      if (!marked && el.hasAttribute('tabindex')) continue;
      const now = scrolls(el);
      if (now && !marked) (el.setAttribute('tabindex', '0'), el.setAttribute(MARK, ''));
      else if (!now && marked) (el.removeAttribute('tabindex'), el.removeAttribute(MARK));
    }
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(update);
  };
  const observer = new MutationObserver(schedule);
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  window.addEventListener('resize', schedule);
  schedule();
  return () => {
    observer.disconnect();
    window.removeEventListener('resize', schedule);
    if (frame) cancelAnimationFrame(frame);
  };
}
