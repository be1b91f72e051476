// hwocr box editor: a name image with lettered character boxes (image pixels), edited
// with mouse and keyboard. A Streamlit components-v2 module; see hwocr/ui/box_editor.py.
//
// Streamlit calls the default export on mount and again whenever `data` changes, always
// with the same parentElement: the editor lives in a WeakMap keyed by it and is updated
// in place, so a rerun never rebuilds (or flickers) what is on screen.

const CHIP_H = 22;        // chip height, CSS px
const CHIP_W = 22;        // chip width when there is room
const CHIP_MIN_W = 14;    // chips shrink down to this before they shift sideways
const CHIP_GAP = 3;       // between chips in a row, and between the two rows
const ROWS = 2;           // chips of neighbouring boxes alternate between two rows
const PAD_TOP = 4;
const PAD_BELOW = 8;      // between the lower chip row and the image
const STRIP = PAD_TOP + ROWS * CHIP_H + (ROWS - 1) * CHIP_GAP + PAD_BELOW;
const BOTTOM = 6;         // paper below the image, so a box's bottom handle can be grabbed
const HANDLE = 8;         // handle squares, CSS px
const GRAB = 6;           // how near an edge counts as grabbing it, CSS px
const DRAG_START = 3;     // a press must move this far before it draws a box
const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.5;
const MAX_SCALE = 48;
const MAX_STAGE = 32000;  // CSS px: browsers stop drawing wider elements reliably

// The person's zoom choice outlives one name: the next name opens the same way.
const prefs = { fit: false, factor: 1 };
const editors = new WeakMap();

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const LABEL = /^[A-Za-z0-9]$/;

function el(tag, cls, attrs) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function cleanLabel(text) {
  const s = String(text ?? "").trim().toUpperCase();
  return LABEL.test(s) ? s : "";
}

// Chips above the boxes, never overlapping: each centred over its box in the lower row if
// it fits, else the upper row; when neither row has room, all chips shrink; at the least
// size a chip moves right of its row's last one (its leader line still points at its box).
function layoutChips(items, stageWidth) {
  const attempt = (w, force) => {
    const ends = new Array(ROWS).fill(-Infinity);
    const out = [];
    for (const it of items) {
      let left = clamp(it.cx - w / 2, 0, Math.max(0, stageWidth - w));
      let row = ends.findIndex((end) => left >= end + CHIP_GAP);
      if (row < 0) {
        if (!force) return null;
        row = ends.indexOf(Math.min(...ends));
        left = ends[row] + CHIP_GAP;
      }
      ends[row] = left + w;
      out.push({ ...it, row, left, w });
    }
    return out;
  };
  for (let w = CHIP_W; w >= CHIP_MIN_W; w -= 2) {
    const placed = attempt(w, false);
    if (placed) return placed;
  }
  return attempt(CHIP_MIN_W, true);
}

const rowTop = (row) => STRIP - PAD_BELOW - (row + 1) * CHIP_H - row * CHIP_GAP;

class Editor {
  constructor(host) {
    this.host = host;
    this.W = 1;
    this.H = 1;
    this.boxes = [];        // {x0, y0, x1, y1, label}, image pixels, half-open
    this.sel = null;        // the selected box object
    this.revision = null;
    this.newLabel = "A";
    this.minHeight = 160;
    this.drag = null;
    this.chips = [];
    this.lastSent = null;
    this.nudged = false;
    this.api = null;
    this.scale = 1;
    this.build();
  }

  build() {
    const root = el("div", "hbe", { tabindex: "0", role: "application",
      "aria-label": "Box editor: click to edit, letters relabel, Delete removes, Escape twice leaves" });
    const bar = el("div", "hbe-bar");
    this.btnOut = el("button", "", { type: "button", "aria-label": "Zoom out", title: "Zoom out (Ctrl/⌘ + wheel)" });
    this.btnOut.textContent = "−";
    this.zoomLabel = el("span", "hbe-zoom", { "aria-live": "polite" });
    this.btnIn = el("button", "", { type: "button", "aria-label": "Zoom in", title: "Zoom in (Ctrl/⌘ + wheel)" });
    this.btnIn.textContent = "+";
    this.btnFit = el("button", "", { type: "button", "aria-label": "Fit width", "aria-pressed": "false",
      title: "Fit the whole name to the editor's width" });
    this.btnFit.textContent = "Fit width";
    this.hint = el("span", "hbe-hint");
    bar.append(this.btnOut, this.zoomLabel, this.btnIn, this.btnFit, this.hint);
    this.view = el("div", "hbe-view");
    this.stage = el("div", "hbe-stage");
    this.img = el("img", "hbe-img", { alt: "the name", draggable: "false" });
    this.svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.svg.setAttribute("class", "hbe-svg");
    this.stage.append(this.img, this.svg);
    this.view.append(this.stage);
    root.append(bar, this.view);
    this.host.append(root);
    this.root = root;

    this.on(this.btnIn, "click", () => this.zoomBy(ZOOM_STEP));
    this.on(this.btnOut, "click", () => this.zoomBy(1 / ZOOM_STEP));
    this.on(this.btnFit, "click", () => {
      prefs.fit = !prefs.fit;
      prefs.factor = 1;
      this.relayout();
    });
    this.on(this.view, "wheel", (e) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      e.preventDefault();
      this.zoomBy(e.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, e.clientX);
    }, { passive: false });
    this.on(this.stage, "pointerdown", (e) => this.down(e));
    this.on(this.stage, "pointermove", (e) => this.move(e));
    this.on(this.stage, "pointerup", (e) => this.up(e));
    this.on(this.stage, "pointercancel", () => this.cancel());
    this.on(root, "keydown", (e) => this.key(e));
    this.on(root, "keyup", (e) => this.keyUp(e));
    this.on(root, "focusin", () => this.focusChanged());
    this.on(root, "focusout", () => setTimeout(() => this.focusChanged(), 0));
    if (typeof ResizeObserver !== "undefined") {
      this.resize = new ResizeObserver(() => this.relayout());
      this.resize.observe(this.view);
    }
    this.focusChanged();
  }

  on(node, type, fn, opts) {
    node.addEventListener(type, fn, opts);
    (this.off ||= []).push(() => node.removeEventListener(type, fn, opts));
  }

  destroy() {
    for (const off of this.off || []) off();
    this.resize?.disconnect();
    this.root.remove();
  }

  // --- data from Python ---------------------------------------------------------------

  update(data, api) {
    this.api = api;
    this.newLabel = cleanLabel(data.newLabel) || "A";
    this.minHeight = Number(data.minHeight) || 160;
    const sizeChanged = data.width !== this.W || data.height !== this.H;
    this.W = Math.max(1, Number(data.width) || 1);
    this.H = Math.max(1, Number(data.height) || 1);
    if (this.img.getAttribute("src") !== data.image) this.img.setAttribute("src", data.image);
    if (data.revision !== this.revision) {
      // The server's boxes replace ours (a new name, a Reset, the model's letters).
      this.revision = data.revision;
      this.boxes = (data.boxes || []).map(([x0, y0, x1, y1, label]) => ({ x0, y0, x1, y1, label: cleanLabel(label) }));
      this.sel = null;
      this.drag = null;
      this.lastSent = JSON.stringify(this.payload());
    }
    if (sizeChanged) this.relayout(); else this.render();
  }

  payload() {
    return this.sorted().map((b) => [b.x0, b.y0, b.x1, b.y1, b.label]);
  }

  sorted() {
    return [...this.boxes].sort((a, b) => a.x0 - b.x0 || a.y0 - b.y0 || a.x1 - b.x1 || a.y1 - b.y1);
  }

  // An edit is finished: tell Python (once per change, never on mouse moves).
  commit() {
    const boxes = this.payload();
    const text = JSON.stringify(boxes);
    if (text === this.lastSent) return;
    this.lastSent = text;
    this.root.dataset.count = String(boxes.length);
    this.api?.setStateValue("boxes", { revision: this.revision, boxes });
  }

  // --- scale -----------------------------------------------------------------------------

  available() {
    return Math.max(100, this.view.clientWidth || this.host.getBoundingClientRect().width || 700);
  }

  fitScale() {
    return this.available() / this.W;
  }

  defaultScale() {
    // At least minHeight tall; more when the whole name still fits the width (short names).
    return Math.max(this.minHeight / this.H, Math.min(this.fitScale(), 320 / this.H));
  }

  wanted() {
    const s = prefs.fit ? this.fitScale() : this.defaultScale() * prefs.factor;
    return clamp(s, MIN_SCALE, Math.min(MAX_SCALE, MAX_STAGE / this.W));
  }

  relayout() {
    const s = this.wanted();
    if (Math.abs(s - this.scale) > 1e-6 || !this.laidOut) {
      this.scale = s;
      this.laidOut = true;
    }
    this.render();
  }

  zoomBy(mult, clientX) {
    const rect = this.view.getBoundingClientRect();
    const anchor = clientX === undefined ? rect.width / 2 : clientX - rect.left;
    const imageX = (this.view.scrollLeft + anchor) / this.scale;
    const target = clamp(this.scale * mult, MIN_SCALE, Math.min(MAX_SCALE, MAX_STAGE / this.W));
    prefs.fit = false;
    prefs.factor = target / this.defaultScale();
    this.relayout();
    this.view.scrollLeft = Math.max(0, imageX * this.scale - anchor);
  }

  // --- drawing ---------------------------------------------------------------------------

  screen(b) {
    const s = this.scale;
    return { L: b.x0 * s, T: STRIP + b.y0 * s, R: b.x1 * s, B: STRIP + b.y1 * s };
  }

  render() {
    const s = this.scale;
    const w = Math.round(this.W * s);
    const h = Math.round(this.H * s);
    const stageW = w;
    const stageH = STRIP + h + BOTTOM;
    Object.assign(this.stage.style, { width: `${stageW}px`, height: `${stageH}px` });
    Object.assign(this.img.style, { top: `${STRIP}px`, width: `${w}px`, height: `${h}px` });
    this.svg.setAttribute("width", String(stageW));
    this.svg.setAttribute("height", String(stageH));
    this.svg.setAttribute("viewBox", `0 0 ${stageW} ${stageH}`);

    const ordered = this.sorted();
    this.chips = layoutChips(ordered.map((b) => ({ b, cx: ((b.x0 + b.x1) / 2) * s })), stageW);
    const parts = [];
    for (const b of ordered) {
      const r = this.screen(b);
      const cls = `hbe-box${b === this.sel ? " hbe-selected" : ""}${b.label ? "" : " hbe-nolabel"}`;
      parts.push(`<rect class="${cls}" data-label="${b.label}" x="${r.L}" y="${r.T}" `
        + `width="${Math.max(1, r.R - r.L)}" height="${Math.max(1, r.B - r.T)}"/>`);
    }
    for (const c of this.chips) {
      const r = this.screen(c.b);
      const sel = c.b === this.sel ? " hbe-selected" : "";
      parts.push(`<line class="hbe-lead${sel}" x1="${c.left + c.w / 2}" y1="${rowTop(c.row) + CHIP_H}" `
        + `x2="${(r.L + r.R) / 2}" y2="${r.T}"/>`);
    }
    for (const c of this.chips) {
      const top = rowTop(c.row);
      const sel = c.b === this.sel ? " hbe-selected" : "";
      const font = c.w >= 20 ? 15 : Math.max(10, Math.round(c.w * 0.72));
      parts.push(`<g class="hbe-chip${sel}${c.b.label ? "" : " hbe-nolabel"}" data-label="${c.b.label}">`
        + `<rect x="${c.left}" y="${top}" width="${c.w}" height="${CHIP_H}" rx="4"/>`
        + `<text x="${c.left + c.w / 2}" y="${top + CHIP_H / 2 + 0.5}" font-size="${font}">${c.b.label || "?"}</text></g>`);
    }
    if (this.sel) {
      const r = this.screen(this.sel);
      const xs = [r.L, (r.L + r.R) / 2, r.R];
      const ys = [r.T, (r.T + r.B) / 2, r.B];
      for (const [i, x] of xs.entries()) {
        for (const [j, y] of ys.entries()) {
          if (i === 1 && j === 1) continue;
          parts.push(`<rect class="hbe-handle" x="${x - HANDLE / 2}" y="${y - HANDLE / 2}" `
            + `width="${HANDLE}" height="${HANDLE}"/>`);
        }
      }
    }
    if (this.draft) {
      const r = this.screen(this.draft);
      parts.push(`<rect class="hbe-draft" x="${r.L}" y="${r.T}" width="${r.R - r.L}" height="${r.B - r.T}"/>`);
    }
    this.svg.innerHTML = parts.join("");

    this.zoomLabel.textContent = `×${s < 10 ? s.toFixed(1) : Math.round(s)}`;
    this.btnFit.setAttribute("aria-pressed", prefs.fit ? "true" : "false");
    const d = this.root.dataset;
    d.scale = String(s);
    d.count = String(this.boxes.length);
    d.selected = this.sel ? String(ordered.indexOf(this.sel)) : "";
    d.revision = String(this.revision);
  }

  focusChanged() {
    const focused = this.root.contains(this.root.getRootNode().activeElement);
    this.root.classList.toggle("hbe-focused", focused);
    this.hint.textContent = focused
      ? "Keys: letter/digit relabels · Del deletes · arrows nudge (⇧ 5 px) · Tab next · Esc, Esc leaves"
      : "Drag on the paper: new box · click a box, then type its letter · click here for keys";
  }

  // --- mouse -----------------------------------------------------------------------------

  point(e) {
    const r = this.stage.getBoundingClientRect();
    const sx = e.clientX - r.left;
    const sy = e.clientY - r.top;
    return { sx, sy, x: sx / this.scale, y: (sy - STRIP) / this.scale };
  }

  edgesAt(b, sx, sy) {
    const r = this.screen(b);
    const inY = sy >= r.T - GRAB && sy <= r.B + GRAB;
    const inX = sx >= r.L - GRAB && sx <= r.R + GRAB;
    const dl = Math.abs(sx - r.L);
    const dr = Math.abs(sx - r.R);
    const dt = Math.abs(sy - r.T);
    const db = Math.abs(sy - r.B);
    const e = {
      l: inY && dl <= GRAB && dl <= dr,
      r: inY && dr <= GRAB && dr < dl,
      t: inX && dt <= GRAB && dt <= db,
      b: inX && db <= GRAB && db < dt,
    };
    return e.l || e.r || e.t || e.b ? e : null;
  }

  chipAt(sx, sy) {
    return this.chips.find((c) => sx >= c.left && sx <= c.left + c.w
      && sy >= rowTop(c.row) && sy <= rowTop(c.row) + CHIP_H)?.b || null;
  }

  boxAt(x, y) {
    let best = null;
    for (const b of this.boxes) {
      if (x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1) {
        const area = (b.x1 - b.x0) * (b.y1 - b.y0);
        if (!best || area < best.area) best = { b, area };
      }
    }
    return best?.b || null;
  }

  cursorFor(p) {
    if (this.sel) {
      const e = this.edgesAt(this.sel, p.sx, p.sy);
      if (e) {
        if ((e.l && e.t) || (e.r && e.b)) return "nwse-resize";
        if ((e.r && e.t) || (e.l && e.b)) return "nesw-resize";
        return e.l || e.r ? "ew-resize" : "ns-resize";
      }
    }
    if (this.chipAt(p.sx, p.sy)) return "pointer";
    return this.boxAt(p.x, p.y) ? "move" : "crosshair";
  }

  down(e) {
    if (e.button !== 0) return;
    e.preventDefault();
    this.root.focus({ preventScroll: true });
    const p = this.point(e);
    const orig = this.sel ? { ...this.sel } : null;
    const edges = this.sel ? this.edgesAt(this.sel, p.sx, p.sy) : null;
    if (edges) {
      this.drag = { kind: "resize", b: this.sel, orig, edges, p };
    } else {
      const hit = this.chipAt(p.sx, p.sy) || this.boxAt(p.x, p.y);
      if (hit) {
        this.sel = hit;
        this.drag = { kind: "move", b: hit, orig: { ...hit }, p };
      } else {
        this.drag = { kind: "draw", p, active: false };
      }
    }
    this.stage.setPointerCapture?.(e.pointerId);
    this.render();
  }

  move(e) {
    const p = this.point(e);
    const d = this.drag;
    if (!d) {
      this.stage.style.cursor = this.cursorFor(p);
      return;
    }
    const dx = Math.round(p.x - d.p.x);
    const dy = Math.round(p.y - d.p.y);
    if (d.kind === "move") {
      const o = d.orig;
      const mx = clamp(dx, -o.x0, this.W - o.x1);
      const my = clamp(dy, -o.y0, this.H - o.y1);
      Object.assign(d.b, { x0: o.x0 + mx, x1: o.x1 + mx, y0: o.y0 + my, y1: o.y1 + my });
    } else if (d.kind === "resize") {
      const o = d.orig;
      const g = d.edges;
      Object.assign(d.b, {
        x0: g.l ? clamp(o.x0 + dx, 0, o.x1 - 1) : o.x0,
        x1: g.r ? clamp(o.x1 + dx, o.x0 + 1, this.W) : o.x1,
        y0: g.t ? clamp(o.y0 + dy, 0, o.y1 - 1) : o.y0,
        y1: g.b ? clamp(o.y1 + dy, o.y0 + 1, this.H) : o.y1,
      });
    } else {
      if (!d.active && Math.hypot(p.sx - d.p.sx, p.sy - d.p.sy) < DRAG_START) return;
      d.active = true;
      const ax = clamp(Math.round(d.p.x), 0, this.W);
      const ay = clamp(Math.round(d.p.y), 0, this.H);
      const bx = clamp(Math.round(p.x), 0, this.W);
      const by = clamp(Math.round(p.y), 0, this.H);
      this.draft = { x0: Math.min(ax, bx), y0: Math.min(ay, by), x1: Math.max(ax, bx), y1: Math.max(ay, by) };
    }
    this.render();
  }

  up(e) {
    const d = this.drag;
    if (!d) return;
    this.stage.releasePointerCapture?.(e.pointerId);
    this.drag = null;
    if (d.kind === "draw") {
      const b = this.draft;
      this.draft = null;
      if (d.active && b && b.x1 - b.x0 >= 1 && b.y1 - b.y0 >= 1) {
        const box = { ...b, label: this.newLabel };
        this.boxes.push(box);
        this.sel = box;
        this.render();
        this.commit();
      } else {
        this.sel = null;   // a click on the paper deselects
        this.render();
      }
      return;
    }
    this.render();
    this.commit();
  }

  cancel() {
    const d = this.drag;
    this.drag = null;
    this.draft = null;
    if (d && d.orig && d.b) Object.assign(d.b, d.orig);
    this.render();
  }

  // --- keyboard --------------------------------------------------------------------------

  key(e) {
    // Everything typed here stays here: the page's single-key shortcuts (A accept, S skip,
    // X reject, …) listen on the document and must not see it.
    e.stopPropagation();
    if (e.ctrlKey || e.metaKey || e.altKey) return;   // the browser's own (copy, zoom, …)
    const onButton = e.target !== this.root && e.target.tagName === "BUTTON";
    const k = e.key;
    if (onButton && (k === "Enter" || k === " ")) return;   // activate the button
    const sel = this.sel;
    if (k === "Escape") {
      if (sel) this.select(null); else this.root.blur();
    } else if (k === "Delete" || k === "Backspace") {
      if (sel) {
        this.boxes = this.boxes.filter((b) => b !== sel);
        this.select(null);
        this.commit();
      }
    } else if (LABEL.test(k)) {
      if (sel) {
        sel.label = k.toUpperCase();
        this.render();
        this.commit();
      }
    } else if (k.startsWith("Arrow")) {
      if (sel) {
        const step = e.shiftKey ? 5 : 1;
        const dx = k === "ArrowLeft" ? -step : k === "ArrowRight" ? step : 0;
        const dy = k === "ArrowUp" ? -step : k === "ArrowDown" ? step : 0;
        const mx = clamp(dx, -sel.x0, this.W - sel.x1);
        const my = clamp(dy, -sel.y0, this.H - sel.y1);
        Object.assign(sel, { x0: sel.x0 + mx, x1: sel.x1 + mx, y0: sel.y0 + my, y1: sel.y1 + my });
        this.nudged = true;
        this.render();
        this.scrollToSelected();
      }
    } else if (k === "Tab") {
      if (!this.boxes.length) return;   // nothing to cycle: Tab leaves the editor
      const order = this.sorted();
      const i = sel ? order.indexOf(sel) : -1;
      const n = order.length;
      const next = e.shiftKey ? (i <= 0 ? n - 1 : i - 1) : (i + 1) % n;
      this.select(order[next]);
      this.scrollToSelected();
    } else if (k.length !== 1) {
      return;   // Enter, Page Up, … keep their default
    }
    e.preventDefault();
  }

  keyUp(e) {
    e.stopPropagation();
    if (this.nudged && e.key.startsWith("Arrow")) {
      // Arrows report once they are let go, not on every auto-repeat.
      this.nudged = false;
      this.commit();
    }
  }

  select(b) {
    this.sel = b;
    this.render();
  }

  scrollToSelected() {
    if (!this.sel) return;
    const r = this.screen(this.sel);
    const v = this.view;
    if (r.L < v.scrollLeft + 20) v.scrollLeft = Math.max(0, r.L - 40);
    else if (r.R > v.scrollLeft + v.clientWidth - 20) v.scrollLeft = r.R - v.clientWidth + 40;
  }
}

export default function boxEditor(component) {
  const { data, parentElement } = component;
  let editor = editors.get(parentElement);
  if (!editor || !editor.root.isConnected) {
    editor?.destroy();
    let host = parentElement.querySelector(".hbe-host");
    if (!host) {
      host = el("div", "hbe-host");
      parentElement.append(host);
    }
    editor = new Editor(host);
    editors.set(parentElement, editor);
  }
  editor.update(data || {}, component);
  // Streamlit also runs this cleanup when a call was overtaken by newer data before its
  // module import settled; only a real unmount (our element gone from the page) ends it.
  return () => setTimeout(() => {
    const current = editors.get(parentElement);
    if (current && !current.root.isConnected) {
      current.destroy();
      editors.delete(parentElement);
    }
  }, 0);
}
