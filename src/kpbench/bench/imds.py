"""The EC2 instance type from the instance metadata service (IMDSv2).

PUT /latest/api/token for a session token, then GET
/latest/meta-data/instance-type with it. Off EC2 nothing answers at
169.254.169.254; we give up silently after the timeout. Tests point
KPBENCH_IMDS_URL at a fake server on 127.0.0.1 (or set it to "off").
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request

IMDS_URL = "http://169.254.169.254"
IMDS_URL_ENV = "KPBENCH_IMDS_URL"
TIMEOUT_S = 0.3
TOKEN_TTL_S = 60


def imds_base_url() -> str | None:
    """The metadata service to ask; None when detection is turned off (KPBENCH_IMDS_URL=off)."""
    url = os.environ.get(IMDS_URL_ENV, IMDS_URL).strip()
    return None if url.lower() in ("", "off", "none", "0") else url.rstrip("/")


def detect_instance_type(base_url: str | None = None, *, timeout_s: float = TIMEOUT_S) -> str | None:
    """The instance type (e.g. "g5.xlarge"), or None when no metadata service answers in time."""
    base = base_url.rstrip("/") if base_url else imds_base_url()
    if base is None:
        return None
    # Proxies must never see metadata traffic; build an opener without them.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        put = urllib.request.Request(
            f"{base}/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)},
        )
        with opener.open(put, timeout=timeout_s) as resp:
            token = resp.read().decode("ascii", "replace").strip()
        get = urllib.request.Request(
            f"{base}/latest/meta-data/instance-type", headers={"X-aws-ec2-metadata-token": token}
        )
        with opener.open(get, timeout=timeout_s) as resp:
            value = resp.read().decode("ascii", "replace").strip()
    except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError):
        return None  # not on EC2, IMDS disabled, or hop limit reached: silent by design
    return value or None
