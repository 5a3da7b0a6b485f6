"""Settings read from the environment or a ``.env`` file.

Names follow the interface contract in DESIGN.md; the extra ``RELAIS_*`` knobs have
safe defaults so a fresh machine runs with nothing set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.schedule import format_days, parse_days


def default_database_url() -> str:
    """SQLite file in the working directory: the embedded default."""
    return f"sqlite+aiosqlite:///{Path.cwd() / 'relais.db'}"


def async_database_url(value: str) -> str:
    """The URL with an async driver: people paste what their host gives them."""
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    if value.startswith("postgresql://"):
        return "postgresql+asyncpg://" + value.removeprefix("postgresql://")
    if value.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
    return value


class Settings(BaseSettings):
    """Every setting Relais reads. Environment names are the field names, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Every field has a description: docs/configuration.md and .env.example are generated
    # from them (`python -m relais.config_doc`), and a test fails when they differ.
    host: str = Field(
        default="127.0.0.1",
        description="Interface `relais serve` listens on (the container image sets `0.0.0.0`).",
    )
    port: int = Field(default=3000, description="Port of `relais serve`.")
    database_url: str = Field(
        default_factory=default_database_url,
        description="`sqlite:///path/relais.db` (default: `relais.db` in the working "
        "directory), or `postgresql://user:password@host:5432/db` for replicas.",
    )
    media_dir: Path = Field(
        default_factory=lambda: Path.cwd() / "media",
        description="Where cleaned photos are stored, content-addressed (default: `media` in "
        "the working directory). Replicas share it (a shared volume).",
    )
    media_url: str = Field(
        default="",
        description="`s3://bucket/prefix`: photos in an S3-compatible bucket, for replicas "
        "that share no disk (`MEDIA_DIR` is then a local cache). Endpoint, region and "
        "credentials: the usual `AWS_ENDPOINT_URL`, `AWS_DEFAULT_REGION`, "
        "`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`.",
    )
    public_url: str = Field(
        default="",
        description="The server's public base URL; Teams cards load photos from "
        "`PUBLIC_URL/media/<signed link>`.",
    )

    relais_locale: Literal["fr", "en"] = Field(
        default="en",
        description="Workspace language, `en` or `fr`; each person's own locale wins when "
        "the platform gives it.",
    )
    relais_timezone: str = Field(
        default="Europe/Paris",
        description="Timezone of the digest schedule and of dates on cards (CMs can change "
        "it from chat: `/relais config timezone`).",
    )
    relais_working_days: str = Field(
        default="mon-fri",
        description="Days nudges and reminders may be sent (9:00-18:00 local) and review "
        "SLA hours counted: a range such as `mon-fri` or `sun-thu`, or days such as "
        "`mon,tue,thu` (English or French names; CMs can change it from chat: "
        "`/relais config working_days`).",
    )
    relais_review_channel: str = Field(
        default="",
        description="Channel id for review cards; empty: each CM gets them by direct message.",
    )
    relais_digest_channel: str = Field(
        default="",
        description="Channel id of the weekly digest and campaign announcements; empty: no digest.",
    )
    relais_digest_schedule: str = Field(
        default="fri 16:00",
        description="Weekday and time of the digest, in the workspace's timezone.",
    )
    relais_cms: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Platform user ids made community managers at start (commas or spaces).",
    )
    relais_approvers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="User ids made approvers (decide escalated, sensitive submissions).",
    )
    relais_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="User ids made admins (everything)."
    )
    relais_charter_file: Path | None = Field(
        default=None,
        description="A text file with your own charter; empty: the built-in one, in the "
        "workspace language.",
    )
    relais_max_photo_mb: float = Field(default=20.0, description="Largest photo accepted, in MB.")
    relais_max_photo_pixels: int = Field(
        default=40_000_000,
        description="Largest photo in pixels (decompression bombs are refused).",
    )
    relais_max_video_mb: float = Field(
        default=100.0, gt=0, description="Largest video accepted, in MB."
    )
    relais_max_video_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Longest video accepted, in seconds (a longer declared duration is "
        "refused before anything is decoded).",
    )
    relais_photo_memory_mb: float = Field(
        default=100.0,
        gt=0,
        description="Decoded photo bytes, in MB, that all photo work of one process may hold "
        "at once (a photo larger than this is worked on alone).",
    )
    relais_points_per_approval: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="Points credited to the author of an approved submission (default of "
        "the chat setting points_approved).",
    )
    relais_points_first: int = Field(
        default=20,
        ge=0,
        le=1000,
        description="Bonus points for a member's first approved submission (default of the "
        "chat setting points_first).",
    )
    relais_points_campaign: int = Field(
        default=5,
        ge=0,
        le=1000,
        description="Bonus points when an approved submission belongs to a campaign (default "
        "of the chat setting points_campaign).",
    )
    relais_points_referent: int = Field(
        default=2,
        ge=0,
        le=1000,
        description="Points for a site referent who approves or requests changes on a "
        "submission of their site (default of the chat setting points_referent).",
    )
    relais_retention_days: int = Field(
        default=90,
        ge=1,
        description="Days after which the photos of rejected and withdrawn submissions are "
        "deleted by the daily retention round (the submission's record and its audit trail "
        "stay); said on the `/privacy` page.",
    )
    relais_outbox_max_attempts: int = Field(
        default=8,
        description="Tries before an ephemeral reply or home view becomes a dead letter, and "
        "before any other message counts as stuck (DMs, channel posts and card updates keep "
        "trying for 24 h).",
    )
    relais_slack_rate: float = Field(
        default=20.0,
        gt=0,
        description="Slack: messages posted or updated per second per workspace (each "
        "channel also gets at most 1 per second).",
    )
    relais_secret_key: str = Field(
        default="",
        description="Signs short-lived links (Teams photo links); the same on every replica.",
    )
    relais_teams_emulator: bool = Field(
        default=False,
        description="`true`: Teams without Bot Framework authentication, for the Bot "
        "Framework Emulator; refused with `MICROSOFT_APP_ID`, binds 127.0.0.1.",
    )
    relais_metrics_token: str = Field(
        default="",
        description="When set, `GET /metrics` needs `Authorization: Bearer <token>` "
        "(401 otherwise); empty: `/metrics` is open.",
    )

    slack_bot_token: str = Field(
        default="", description="Slack `xoxb-...` bot token: one workspace."
    )
    slack_signing_secret: str = Field(
        default="",
        description="Slack signing secret: verifies every request to `/slack/events`.",
    )
    slack_app_token: str = Field(
        default="",
        description="Slack `xapp-...` app-level token with `connections:write`: Socket Mode.",
    )
    slack_client_id: str = Field(
        default="",
        description="Slack OAuth client id: many workspaces (`/slack/install`), with "
        "`SLACK_CLIENT_SECRET`.",
    )
    slack_client_secret: str = Field(default="", description="Slack OAuth client secret.")
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (tests point it at a local Slack-compatible server).",
    )

    microsoft_app_id: str = Field(
        default="", description="Teams: the Azure Bot's app id; enables `POST /api/messages`."
    )
    microsoft_app_password: str = Field(
        default="", description="Teams: the Azure Bot's client secret."
    )
    microsoft_app_tenant_id: str = Field(
        default="", description="Teams: your tenant id, required for a `SingleTenant` bot."
    )
    microsoft_app_type: str = Field(
        default="MultiTenant",
        description="Teams: `SingleTenant` (every bot created since August 2025) or `MultiTenant`.",
    )

    @field_validator("relais_cms", "relais_approvers", "relais_admins", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # RELAIS_CMS=U1,U2 (commas and/or spaces), as people write it in a .env file.
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("relais_working_days")
    @classmethod
    def _working_days(cls, value: str) -> str:
        days = parse_days(value)
        if days is None:
            raise ValueError("write working days like 'mon-fri', 'sun-thu' or 'mon,tue,thu'")
        return format_days(days)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    def slack_configured(self) -> bool:
        """True when these settings describe a Slack app (token, OAuth or Socket Mode)."""
        return bool(self.slack_bot_token or (self.slack_client_id and self.slack_client_secret))

    def teams_configured(self) -> bool:
        """True when these settings describe a Teams bot (or the local emulator mode)."""
        return bool(self.microsoft_app_id or self.relais_teams_emulator)

    def slack_problem(self) -> str | None:
        """What is wrong with the Slack settings, in one sentence; None when usable or unset."""
        oauth = bool(self.slack_client_id or self.slack_client_secret)
        if oauth and not (self.slack_client_id and self.slack_client_secret):
            return "set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (multi-workspace OAuth)"
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            return "SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write"
        if self.slack_app_token and not (self.slack_bot_token or oauth):
            return "Socket Mode (SLACK_APP_TOKEN) also needs SLACK_BOT_TOKEN"
        configured = self.slack_bot_token or oauth
        if configured and not self.slack_app_token and not self.slack_signing_secret:
            return "SLACK_SIGNING_SECRET is required to verify Slack's requests"
        return None

    def teams_problem(self) -> str | None:
        """What is wrong with the Teams settings; None when usable or unset."""
        if self.relais_teams_emulator and self.microsoft_app_id:
            return "RELAIS_TEAMS_EMULATOR turns authentication off: leave MICROSOFT_APP_ID empty"
        if self.microsoft_app_id and not self.microsoft_app_password:
            return "MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID"
        kind = self.microsoft_app_type.lower()
        if self.microsoft_app_id and kind not in ("multitenant", "singletenant"):
            return "MICROSOFT_APP_TYPE must be MultiTenant or SingleTenant"
        if self.microsoft_app_id and kind == "singletenant" and not self.microsoft_app_tenant_id:
            return "MICROSOFT_APP_TENANT_ID is required for a SingleTenant app"
        return None

    @property
    def max_photo_bytes(self) -> int:
        """The photo size limit in bytes."""
        return int(self.relais_max_photo_mb * 1024 * 1024)

    @property
    def max_video_bytes(self) -> int:
        """The video size limit in bytes."""
        return int(self.relais_max_video_mb * 1024 * 1024)

    @property
    def photo_memory_bytes(self) -> int:
        """The photo work budget in bytes (RELAIS_PHOTO_MEMORY_MB)."""
        return int(self.relais_photo_memory_mb * 1024 * 1024)
