"""Peak memory of decoding one Find similar upload, per format and size.

Each case runs in a fresh Python process: the decode of find_similar.uploads.upload_decode (the
upload form's) and the stored copy's encoding, with the pixel cap lifted so every size is
decoded. The number is the growth of the process's peak resident memory over its resident
memory just before the decode (Linux: the peak is reset through /proc/self/clear_refs, then read
as VmHWM): what one upload request adds. Pillow's pixel buffers are allocated outside Python's
allocator, so tracemalloc cannot see them; the resident set can.
FIND_SIMILAR_MAX_PIXELS in config/settings/base.py is chosen from this table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (format, width, height): a 12 MP phone frame as JPEG, PNG and WebP; a 50 MP phone JPEG; the
# issue's 8000 x 8000 PNG (64 MP: under the catalogue's cap, over the upload cap); a 24 MP WebP.
CASES = [
    ("JPEG", 4032, 3024),
    ("JPEG", 8160, 6120),
    ("PNG", 4032, 3024),
    ("WEBP", 4032, 3024),
    ("PNG", 8000, 8000),
    ("WEBP", 6000, 4000),
]
SMOKE_CASES = [("JPEG", 1200, 900), ("PNG", 1100, 800)]


def _image_file(folder: Path, fmt: str, width: int, height: int) -> Path:
    from PIL import Image

    path = folder / f"{width}x{height}.{fmt.lower()}"
    # A two-colour picture: real pixels to decode, a file small enough to pass the byte limit.
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, width // 2, height))
    image.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} is not in /proc/self/status (this measurement needs Linux)")


def peak_growth_mb(work) -> tuple[float, object]:
    """Run ``work()`` and return (peak resident growth in MB, its result)."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident set
    before = _status_kb("VmRSS")
    result = work()
    return (_status_kb("VmHWM") - before) / 1024, result


def _child(path: str) -> None:
    """In the fresh process: decode and store-encode one file, print the peak growth as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.test import override_settings

    from find_similar.uploads import _store_copy, upload_decode

    data = Path(path).read_bytes()

    def work():
        with override_settings(FIND_SIMILAR_MAX_PIXELS=10**9, UPLOAD_MAX_BYTES=len(data) + 1):
            decoded = upload_decode(data)
            _store_copy(decoded.image)
        return decoded.image.size

    peak_mb, size = peak_growth_mb(work)
    print(json.dumps({"peak_mb": peak_mb, "decoded": list(size)}))


def measure(cases) -> list[list]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="upload-memory-") as folder:
        for fmt, width, height in cases:
            path = _image_file(Path(folder), fmt, width, height)
            out = subprocess.run(
                [sys.executable, "-m", "bench.upload_memory", "--child", str(path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            pixels = width * height
            rows.append(
                [
                    fmt,
                    f"{width} × {height}",
                    f"{pixels / 1e6:.1f}",
                    f"{path.stat().st_size / 1e3:,.0f}",
                    " × ".join(map(str, result["decoded"])),
                    f"{result['peak_mb']:,.0f}",
                ]
            )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="two small cases (for the test suite)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return
    from bench.common import markdown_table

    rows = measure(SMOKE_CASES if args.smoke else CASES)
    body = (
        __doc__.split("\n\n", 1)[1].strip()
        + "\n\n"
        + markdown_table(["format", "size", "MP", "file (KB)", "stored size", "peak growth (MB)"], rows)
    )
    print(body)
    if not args.no_write:
        from bench.report import section_write

        section_write("upload-memory", body, packages=("Pillow",))


if __name__ == "__main__":
    main()
