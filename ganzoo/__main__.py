"""``python -m ganzoo``: the same as the ``ganzoo`` command (torchrun launches it this way)."""

from .cli import main

if __name__ == "__main__":
    main()
