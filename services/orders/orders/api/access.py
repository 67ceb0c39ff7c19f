"""Who may call what: staff scopes and the public endpoints' rate limit."""

from typing import Annotated

from fastapi import Depends

from ticketflow_runtime.auth import Principal, rate_limited, scopes

WRITE_SCOPES = ("orders:write",)

Reader = Annotated[Principal, Depends(scopes("orders:read"))]
Writer = Annotated[Principal, Depends(scopes(*WRITE_SCOPES))]
PublicRateLimit = Depends(rate_limited("orders-public"))
