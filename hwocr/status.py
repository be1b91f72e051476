"""What the workspace holds, and what to warn about: shared by ``python -m hwocr status``,
``python -m hwocr app`` and the pages, so the command line and the app say the same.

* :func:`workspace_status` — names by status, segmentation totals, crops per class, the
  active model, running jobs, the demo data, as a typed
  :class:`hwocr.contracts.WorkspaceStatus` (``status --json`` prints its ``to_json()``);
* :func:`exposure_warning` — the warning for an app served beyond this machine while
  downloads may reach private addresses.
"""

from __future__ import annotations

import ipaddress

from hwocr.config import ALLOW_PRIVATE_ENV
from hwocr.contracts import WorkspaceStatus
from hwocr.errors import HwocrError
from hwocr.store import jobs as store_jobs
from hwocr.store import versions as store_versions
from hwocr.workspace import Workspace


def workspace_status(ws: Workspace) -> WorkspaceStatus:
    """The workspace at a glance."""
    # Lazy for start-up speed: the dataset and the pipeline bring zipfile, csv and process
    # pools, which `hwocr --help` and most commands do not need.
    from hwocr.dataset import demo_data
    from hwocr.pipeline import segmentation_totals

    counts = ws.status_counts()
    classes = ws.class_counts()
    jobs = store_jobs.running(ws)
    active = store_versions.active_row(ws)
    return WorkspaceStatus(
        workspace=str(ws.root),
        names=sum(counts.values()),
        by_status=counts,
        segmentation=segmentation_totals(ws),
        crops=sum(classes.values()),
        classes=classes,
        active_model=({"name": active["name"], "path": active["path"], "val_accuracy": active["val_accuracy"]}
                      if active else {"name": "base (shipped)", "path": "models/base"}),
        running_jobs=tuple(jobs),
        demo=demo_data(ws).to_json(),
    )


def is_local_address(host: str) -> bool:
    """Whether binding ``host`` serves this machine only (a loopback address or name)."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str) -> str | None:
    """The warning to give when the app is served beyond this machine while downloads may
    reach private addresses (the server would fetch from its own network for anyone)."""
    if is_local_address(host):
        return None
    # Lazy for start-up speed: fetch brings urllib3, needed only when the app is exposed.
    from hwocr.fetch import private_urls_setting

    try:
        allowed = private_urls_setting()
    except HwocrError as exc:
        return str(exc)
    if not allowed:
        return None
    what = "private and loopback addresses" if allowed is True else ", ".join(allowed)
    return (f"the app is served on {host}, beyond this machine, and {ALLOW_PRIVATE_ENV} lets its downloads reach "
            f"{what}: anyone who can open the app can make this machine fetch from there. Unset "
            f"{ALLOW_PRIVATE_ENV} unless every user of the app may do that.")
