"""Prompt versions in the MLflow prompt registry: the system prompts an OpenAI-compatible
assistant runs with. `--prompt-version 3` is registered version 3, `--prompt-version production`
the version the alias `production` points at, `latest` the newest."""

from __future__ import annotations

from pathlib import Path

from lab.paths import DEFAULT_TRACKING_URI


def prompt_reference(name: str, ref: str) -> str:
    return f"prompts:/{name}/{ref}" if ref.isdigit() else f"prompts:/{name}@{ref}"


def load_registered_prompt(name: str, ref: str, tracking_uri: str | None) -> tuple[str, str, str]:
    """(text, `prompts:/name/N`, commit message) of a registered version; `LookupError` if none."""
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(tracking_uri or DEFAULT_TRACKING_URI)
    try:
        prompt = mlflow.genai.load_prompt(prompt_reference(name, ref))
    except MlflowException as exc:
        raise LookupError(f"no prompt version {ref!r} of {name!r} in the registry at "
                          f"{tracking_uri or DEFAULT_TRACKING_URI} ({exc.message.splitlines()[0]}); "
                          f"register one with `exolab prompts register FILE --name {name}`") from None
    if not isinstance(prompt.template, str):
        raise LookupError(f"prompt {name!r} version {prompt.version} is a chat template; a text prompt is needed")
    return prompt.template, f"prompts:/{name}/{prompt.version}", prompt.commit_message or ""


def register_prompt_file(path: Path, name: str, alias: str | None, message: str | None,
                         tracking_uri: str | None) -> str:
    """Register the text of `path` as a new version of `name`, optionally under `alias`."""
    import hashlib

    import mlflow

    mlflow.set_tracking_uri(tracking_uri or DEFAULT_TRACKING_URI)
    text = path.read_text(encoding="utf-8")
    registered = mlflow.genai.register_prompt(
        name=name, template=text, commit_message=message or f"from {path.name}",
        tags={"sha256": hashlib.sha256(text.encode()).hexdigest(), "exolab.source": path.name})
    if alias:
        mlflow.genai.set_prompt_alias(name, alias=alias, version=registered.version)
    return f"prompts:/{name}/{registered.version}"
