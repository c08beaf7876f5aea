"""Check that a built wheel holds every module of the source tree, under its import name.

Usage: python .ci/wheel_contents.py DIST/tfp_arch-*.whl
"""

import sys
import zipfile
from pathlib import Path

FOLDERS = {"tfp_arch": "tfp_arch", "plugins": "tfp_arch/plugins", "cli": "tfp_arch/cli"}


def main(wheel: str) -> int:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [
        f"{prefix}/{path.relative_to(folder).as_posix()}"
        for folder, prefix in FOLDERS.items()
        for path in sorted(Path(folder).rglob("*.py"))
        if f"{prefix}/{path.relative_to(folder).as_posix()}" not in names
    ]
    for name in missing:
        print(f"{wheel}: missing {name}", file=sys.stderr)
    print(f"{wheel}: {len(names)} files, every source module present" if not missing else f"{len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
