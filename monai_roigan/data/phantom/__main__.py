"""``python -m monai_roigan.data.phantom OUTPUT_DIR ...``: the same as ``roigan-phantom``."""

from monai_roigan.data.phantom.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
