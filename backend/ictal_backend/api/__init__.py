"""The run API (FastAPI): submit, follow and collect training runs. `create_app(ApiSettings(...))`."""
from .app import create_app
from .settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
