"""`kv serve` (the web app) and `kv hash-password`."""

from __future__ import annotations

import click

from app.cli.common import PROVIDERS, index_corpus


@click.command("serve")
@click.option("--host", default=None, help="Address to bind [default: KV_UI_HOST, 127.0.0.1].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="[default: 7860]")
@click.option(
    "--provider",
    type=PROVIDERS,
    default=None,
    help="Chat model to draft with [default: KV_PROVIDER].",
)
def serve_cmd(host: str | None, port: int | None, provider: str | None) -> None:
    """Start the web app for civil servants (Gradio) and keep serving until Ctrl-C.

    \b
    Binds to 127.0.0.1 (this machine only) unless --host says otherwise. Logins come from
    KV_AUTH_USERS ("user:hash,user2:hash") and/or KV_AUTH_FILE (one "user:hash" per line);
    make a hash with `kv hash-password`. A non-local --host (e.g. 0.0.0.0) REQUIRES logins.
    The corpus (KV_CORPUS_DIR) is indexed first if the store is empty.
    """
    from app.errors import ConfigError
    from app.settings import get_settings
    from app.web.auth import is_local, load_users

    settings = get_settings()
    if provider:
        settings = settings.model_copy(update={"provider": provider})
    host = host or settings.ui_host
    port = port or settings.ui_port
    users = load_users(settings)
    if not is_local(host) and not users:
        raise ConfigError(
            f"refusing to serve on {host} without logins: anyone on the network could use it. "
            "Set KV_AUTH_USERS or KV_AUTH_FILE (hashes from `kv hash-password`), "
            "or bind to 127.0.0.1"
        )
    from app.services import Services

    svc = Services.from_settings(
        settings,
        bootstrap_corpus=lambda retriever: index_corpus(
            retriever, f"kv: indexing the corpus {settings.corpus_dir} (once) …"
        ),
    )
    click.echo(
        f"kv: {svc.retriever.store.count()} items indexed; model: {svc.model_label()}", err=True
    )
    if svc.writer.runs_worker:
        # Start the model worker now and let it generate a few tokens: a runtime that crashes
        # on this CPU fails here, with the cause and the fix, before anyone opens the page.
        click.echo("kv: starting the local model worker (self-test) …", err=True)
        click.echo(f"kv: local model ready: {svc.self_test()}", err=True)
    from app.web.app import serve

    login = f"login required ({len(users)} users)" if users else "no login (local only)"
    click.echo(f"kv: serving on http://{host}:{port}  —  {login}; Ctrl-C stops", err=True)
    serve(svc, host, port, users)


@click.command("hash-password")
@click.option("--user", default=None, help="Also print a ready 'user:hash' line.")
def hash_password_cmd(user: str | None) -> None:
    """Make a salted scrypt hash for KV_AUTH_USERS / KV_AUTH_FILE (prompts twice, no echo)."""
    from app.web.auth import hash_password

    password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    encoded = hash_password(password)
    click.echo(f"{user}:{encoded}" if user else encoded)
