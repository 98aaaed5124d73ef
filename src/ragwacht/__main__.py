"""Allow ``python -m ragwacht``."""

from ragwacht.cli import main

if __name__ == "__main__":
    main()
