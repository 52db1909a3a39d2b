"""Regenerate the PNGs the README shows (``docs/b2b_inbound.png``, ``docs/solution_sales.png``)
from the examples, and optionally any SVG, as a reader without Arial would see them.

    .venv/bin/python docs/make_pngs.py                 # the README's two PNGs
    .venv/bin/python docs/make_pngs.py build/svg/*.svg --out /tmp/pngs   # look at any SVG
    .venv/bin/python docs/make_pngs.py --metrics       # rewrite targets/_dejavu_widths.py

The SVGs are built by the ``svg`` target (graphviz-pure, the same bytes on every machine) and
rasterised 1 000 px wide, GitHub's width, by ``rsvg-convert`` (Debian: ``apt-get install
librsvg2-bin``) under a fontconfig that offers only DejaVu Sans, the widest usual fallback
(``tests/fixtures/fonts/DejaVuSans.ttf``), so the PNGs depend on nothing but that font and the
rsvg version: rerunning the script gives the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONTS = ROOT / "tests" / "fixtures" / "fonts"
README_PNGS = ("b2b_inbound", "solution_sales")
WIDTH = 1000


def fontconfig(folder: Path) -> Path:
    """A fontconfig file offering only the vendored DejaVu Sans, with every family mapped to it."""
    config = folder / "fonts.conf"
    config.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>{FONTS}</dir>
  <cachedir>{folder / "cache"}</cachedir>
  <match target="pattern">
    <edit name="family" mode="assign"><string>DejaVu Sans</string></edit>
  </match>
</fontconfig>
""",
        encoding="utf-8",
    )
    return config


def rasterise(svg: Path, png: Path, config: Path) -> None:
    program = shutil.which("rsvg-convert")
    if program is None:
        sys.exit("rsvg-convert not found: apt-get install librsvg2-bin")
    env = {"FONTCONFIG_FILE": str(config), "PATH": "/usr/bin:/bin"}
    subprocess.run([program, "-w", str(WIDTH), str(svg), "-o", str(png)], check=True, env=env)


def example_svgs(out: Path) -> list[Path]:
    """The README's pipelines built by the svg target into ``out``."""
    import funnelc
    from funnelc.emit import EmitOptions, get_target

    project = funnelc.load(str(ROOT / "examples"))
    target = get_target("svg")
    written = []
    for name in README_PNGS:
        pipeline = project.pipeline(name)
        assert pipeline is not None, name
        emitted = target.emit(project, pipeline, EmitOptions())
        path = out / f"{name}.svg"
        path.write_bytes(emitted.files[f"{name}.svg"])
        written.append(path)
    return written


def write_metrics() -> None:
    from PIL import ImageFont

    font = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), 1000)
    ranges = [
        (0x20, 0x7F),
        (0xA0, 0x180),
        (0x400, 0x460),
        (0x2010, 0x2027),
        (0x2030, 0x203B),
        (0x2116, 0x2117),
        (0x2190, 0x2194),
    ]
    target = ROOT / "targets" / "_dejavu_widths.py"
    head = target.read_text(encoding="utf-8").split("RANGES:")[0]
    lines = [head.rstrip("\n"), "", "RANGES: tuple[tuple[int, tuple[int, ...]], ...] = ("]
    for first, end in ranges:
        widths = ", ".join(str(round(font.getlength(chr(c)))) for c in range(first, end))
        lines.append(f"    (0x{first:04x}, ({widths},)),")
    lines.append(")")
    lines.append('"""(first code point, widths of it and the code points after it)."""')
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", str(target)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("svgs", nargs="*", type=Path, help="SVGs to rasterise (default: README's)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNGs")
    parser.add_argument("--metrics", action="store_true", help="rewrite the DejaVu width table")
    args = parser.parse_args(argv)
    if args.metrics:
        write_metrics()
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        config = fontconfig(folder)
        svgs = args.svgs or example_svgs(folder)
        for svg in svgs:
            png = args.out / f"{svg.stem}.png"
            rasterise(svg, png, config)
            print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
