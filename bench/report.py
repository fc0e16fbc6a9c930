"""Write a benchmark's results into its own section of docs/benchmarks.md.

Each benchmark owns the text between its two markers, so re-running one benchmark
replaces its numbers and leaves the others alone.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by the scripts in `bench/`; each section says the command, machine and versions that\n"
    "produced it. Compare numbers only within one section (one run, one machine).\n"
)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = "none"
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0 and out.stdout.strip():
            gpu = out.stdout.strip().replace("\n", ", ")
    except (OSError, subprocess.SubprocessError):
        pass
    # Other work on the machine skews timings: say how busy it was when the numbers were written.
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} cores, {cpu}, GPU: {gpu}{load}"


def versions(*packages: str) -> str:
    found = []
    for name in ("python", *packages):
        if name == "python":
            found.append(f"Python {platform.python_version()}")
            continue
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def section_write(name: str, body: str, *, packages: tuple[str, ...] = (), doc: Path = DOC) -> None:
    """Replace (or append) the section ``name`` of the benchmarks document."""
    script = Path(sys.argv[0]).resolve()
    try:
        module = ".".join(script.relative_to(DOC.parent.parent).with_suffix("").parts)
    except ValueError:
        module = script.stem
    command = " ".join(["python -m", module, *(shlex.quote(a) for a in sys.argv[1:])])
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = (
        f"{start}\n"
        f"Command: `{command}`  \n"
        f"Machine: {machine_description()}  \n"
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  \n"
        f"Versions: {versions('torch', 'Django', 'pgvector', 'psycopg', *packages)}\n\n"
        f"{body.strip()}\n"
        f"{end}"
    )
    text = doc.read_text() if doc.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
