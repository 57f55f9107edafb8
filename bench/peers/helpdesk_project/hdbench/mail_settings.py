"""hdbench settings for the email-ingest benchmark: attachments go under the run's
work directory instead of the current directory. Not part of Tend."""

import os

from hdbench.settings import *  # noqa: F403

MEDIA_ROOT = os.environ.get("HDBENCH_MEDIA", "")
