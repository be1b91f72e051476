"""The web app's building blocks: the only part of hwocr that imports Streamlit.

* :mod:`hwocr.ui.state` — every ``st.session_state`` key, in one place;
* :mod:`hwocr.ui.resources` — cached workspace, model, counts; this tab's reviewer id;
* :mod:`hwocr.ui.widgets` — the box editor, the segmenter's view, tiles, thumbnails, charts;
* plain helpers without Streamlit, tested directly: :mod:`hwocr.ui.canvas` (image <->
  canvas coordinates), :mod:`hwocr.ui.render` (pictures), :mod:`hwocr.ui.imports` (uploads, preview, the
  import and demo flows), :mod:`hwocr.ui.tables` (CSV downloads),
  :mod:`hwocr.ui.disagreement` (crops the model doubts). The pages' paged, indexed SQL is
  :mod:`hwocr.store.queries`, with the rest of hwocr's SQL.

The pages in ``pages/`` and ``app.py`` are thin: widgets -> one hwocr call -> render.
"""
