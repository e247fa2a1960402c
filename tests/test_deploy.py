"""deploy/: the compose file is valid Compose and describes the intended topology; Caddy routes
the webhook alone; the settings it hands the bot make a valid configuration. No Docker engine
is needed: the file is read and checked, not run.

The Compose Specification's JSON Schema comes from check-jsonschema, which vendors the
compose-spec repository's schema (a dev dependency; the test skips nothing without it).
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml
from dotenv import dotenv_values

from careerbot.config import from_env
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
SECRETS = ("TELEGRAM_BOT_TOKEN", "CAREERBOT_WEBHOOK_SECRET", "POSTGRES_PASSWORD")
# ${NAME}, ${NAME:-default}, ${NAME:?message}: the interpolations compose.yaml uses.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::(?P<kind>[-?])(?P<rest>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """deploy/compose.yaml as Compose reads it (YAML anchors and merge keys resolved)."""
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON Schema, as check-jsonschema vendors it."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))
    assert isinstance(schema, dict) and schema["title"] == "Compose Specification"
    return schema


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation, for the forms compose.yaml uses."""
    def substitute(match: re.Match[str]) -> str:
        name, kind, rest = match["name"], match["kind"], match["rest"]
        if env.get(name):
            return env[name]
        if kind == "?":
            raise AssertionError(f"{name} is required: {rest}")
        return rest if kind == "-" else ""
    return VARIABLE.sub(substitute, value)


def example_env() -> dict[str, str]:
    """deploy/.env.example, with the secrets filled in as an operator would."""
    values = {k: v or "" for k, v in dotenv_values(DEPLOY / ".env.example").items()}
    return values | {"TELEGRAM_BOT_TOKEN": "123456:ABCdef", "CAREERBOT_WEBHOOK_SECRET": "a" * 64,
                     "POSTGRES_PASSWORD": "0123abcd" * 3}


def container_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    """The environment a careerbot container gets: its env file, then `environment`."""
    env = example_env()
    spec = compose["services"][service]
    assert spec["env_file"] == ".env"
    return env | {k: interpolate(str(v), env) for k, v in spec["environment"].items()}


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    """deploy/compose.yaml validates against the Compose Specification's JSON Schema."""
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(compose)]
    assert errors == []


def test_the_schema_check_catches_a_broken_file(compose: dict[str, Any]) -> None:
    """The same check refuses a misspelt key and a value of the wrong shape (so it does check)."""
    validator = jsonschema.Draft202012Validator(compose_schema())
    broken = json.loads(json.dumps(compose))
    broken["services"]["web"]["deploy"]["replicaz"] = 2
    broken["services"]["postgres"]["volumes"] = "postgres-data:/var/lib/postgresql/data"
    messages = [error.message for error in validator.iter_errors(broken)]
    assert any("'replicaz' does not match" in message for message in messages), messages
    assert any("is not of type 'array'" in message for message in messages), messages


def test_topology(compose: dict[str, Any]) -> None:
    """PostgreSQL with a volume and a healthcheck; two web replicas and one worker, each in its
    role, started once PostgreSQL is healthy; Caddy alone publishes ports.
    """
    services = compose["services"]
    assert set(services) == {"postgres", "web", "worker", "caddy"}
    postgres = services["postgres"]
    assert postgres["volumes"] == ["postgres-data:/var/lib/postgresql/data"]
    assert "postgres-data" in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert services["web"]["command"] == ["careerbot", "run", "--role", "web"]
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["worker"]["command"] == ["careerbot", "run", "--role", "worker"]
    assert "deploy" not in services["worker"]  # one sender; a second one would stand by
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert services[name]["restart"] == "unless-stopped"
        assert "healthcheck" not in services[name]  # the image's HEALTHCHECK on /healthz serves
    assert services["caddy"]["depends_on"] == {"web": {"condition": "service_healthy"}}
    assert set(services["caddy"]["environment"]) == {"CAREERBOT_DOMAIN", "CAREERBOT_WEBHOOK_PATH"}
    assert [name for name, spec in services.items() if "ports" in spec] == ["caddy"]


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    """The token, the webhook secret and the database password come from deploy/.env (git
    ignores it); deploy/.env.example names each, with no value.
    """
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    for service in compose["services"].values():
        for name, value in service.get("environment", {}).items():
            assert name not in ("TELEGRAM_BOT_TOKEN", "CAREERBOT_WEBHOOK_SECRET"), name
            if "PASSWORD" in name or "DATABASE_URL" in name:
                assert "${POSTGRES_PASSWORD:?" in str(value), name
    assert "CAREERBOT_WEBHOOK_SECRET" not in text.replace("# TELEGRAM_BOT_TOKEN, "
                                                          "CAREERBOT_WEBHOOK_SECRET", "")
    example = dotenv_values(DEPLOY / ".env.example")
    assert {name: example.get(name) for name in SECRETS} == dict.fromkeys(SECRETS, "")
    assert ".env" in (REPO / ".gitignore").read_text().split()
    assert ".env" in (REPO / ".dockerignore").read_text().split()


def test_every_variable_compose_reads_is_in_the_example(compose: dict[str, Any]) -> None:
    """Each ${VARIABLE} of compose.yaml is explained in deploy/.env.example."""
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    used = {match["name"] for match in VARIABLE.finditer(text)}
    assert used <= set(dotenv_values(DEPLOY / ".env.example")), used


def test_the_containers_get_a_valid_configuration(compose: dict[str, Any]) -> None:
    """What compose hands each careerbot container makes the configuration intended: web in
    webhook mode on the Caddy-routed URL, worker without a webhook, both on PostgreSQL, port 8080.
    """
    web = from_env(container_env(compose, "web") | {"CAREERBOT_ROLE": "web"})
    assert web.webhook_url == "https://bot.example.org/telegram"
    assert web.listen == ("0.0.0.0", 8080)
    assert (web.database_url or "").startswith("postgresql+asyncpg://careerbot:")
    assert (web.database_url or "").endswith("@postgres:5432/careerbot")
    worker = from_env(container_env(compose, "worker"))
    assert worker.webhook_url is None and worker.listen == ("0.0.0.0", 8080)
    assert worker.database_url == web.database_url
    assert "127.0.0.1:8080/healthz" in (REPO / "Dockerfile").read_text()  # what HEALTHCHECK asks


def test_caddy_routes_the_webhook_and_nothing_else() -> None:
    """The Caddyfile passes POSTs to the webhook path to every web replica on 8080, answers 404
    to anything else, and never routes /healthz, /readyz or /metrics.
    """
    lines = [line.split("#", 1)[0].strip()
             for line in (DEPLOY / "Caddyfile").read_text(encoding="utf-8").splitlines()]
    config = [line for line in lines if line]
    assert config[0] == "{$CAREERBOT_DOMAIN} {"
    assert "method POST" in config and "path {$CAREERBOT_WEBHOOK_PATH}" in config
    assert "handle @telegram {" in config and "dynamic a web 8080 {" in config
    assert config.count("reverse_proxy {") == 1  # the only route to the bot
    assert config[-4:] == ["handle {", "respond 404", "}", "}"]
    assert not [line for line in config if re.search(r"healthz|readyz|metrics", line)]
