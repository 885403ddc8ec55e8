"""`python -m app` is the same as the `kv` command."""

from app.cli import main

if __name__ == "__main__":
    main()
