"""What a new small file costs on this disk, fresh and after many deletions nearby.

harvest creates one file per crop (about 780,000 for 130,000 names), so the kernel's
price for a new file bounds its speed. This probe creates ``--files`` files of 300 bytes
in a new folder under ``FOLDER``, deletes them, creates as many again at once, deletes
them, waits ``--wait`` seconds and creates them a third time, printing microseconds per
file each time and the block group the folder landed in (inode // inodes per group).

    .venv/bin/python bench/file_create_probe.py /opt/probe [--files 20000] [--wait 45]

FOLDER must not exist; it is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path


def create(folder: Path, count: int) -> float:
    """Microseconds per file to create, write 300 bytes to and close ``count`` new files."""
    folder.mkdir()
    t = time.perf_counter()
    for i in range(count):
        fd = os.open(folder / f"{i:06d}.png", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"x" * 300)
        os.close(fd)
    return (time.perf_counter() - t) / count * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--wait", type=float, default=45.0)
    ap.add_argument("--inodes-per-group", type=int, default=8192)
    args = ap.parse_args()
    if args.folder.exists():
        raise SystemExit(f"{args.folder} exists; give a new folder")
    args.folder.mkdir(parents=True)
    try:
        rounds = [("fresh", 0.0), ("right after deleting them", 0.0), (f"{args.wait:.0f} s after deleting", args.wait)]
        for k, (label, wait) in enumerate(rounds):
            if wait:
                time.sleep(wait)
            sub = args.folder / str(k)
            cost = create(sub, args.files)
            group = os.stat(sub).st_ino // args.inodes_per_group
            print(f"{label:<28} {cost:8.1f} us a file   (block group {group})", flush=True)
            shutil.rmtree(sub)
            os.sync()
    finally:
        shutil.rmtree(args.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
