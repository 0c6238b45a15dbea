"""Regenerate the golden keyring files the Go tests compare against.

It writes them the way anaconda-auth (v0.15) does: each entry is a pydantic
model with TokenInfo's fields (domain, api_key, username, repo_tokens,
version) dumped with model_dump_json(exclude_none=True), base64-encoded with
base64.b64encode, and the file is json.dump() of
{"<service>": {"<domain>": "<base64>"}}.

Run from this directory with pydantic v2 installed:  python3 mkgolden.py
"""

import base64
import json
from typing import List, Optional, Union

from pydantic import BaseModel


class RepoToken(BaseModel):
    token: str
    org_name: Union[str, None] = None


class TokenInfo(BaseModel):
    domain: str
    api_key: Union[str, None] = None
    username: Union[str, None] = None
    repo_tokens: List[RepoToken] = []
    version: Optional[int] = 2


def encode(info: TokenInfo) -> str:
    payload = info.model_dump_json(exclude_none=True)
    return base64.b64encode(payload.encode("utf-8")).decode("utf-8")


def dump(name: str, data: dict) -> None:
    with open(name, "w") as fp:
        json.dump(data, fp)


v1 = TokenInfo(
    domain="old.example.com",
    api_key="gk-legacyKEY",
    username="ada",
    repo_tokens=[RepoToken(token="rt-1", org_name="acme"), RepoToken(token="rt-2")],
    version=1,
)
v2 = TokenInfo(domain="packages.example.com", api_key="gk-v2KEY</>&", username="Zoë")
no_version = TokenInfo(domain="bare.example.com", api_key="gk-bare", version=None)

before = {
    "other service": {"someone": "not ours \u00e9"},
    "Anaconda Cloud": {
        "old.example.com": encode(v1),
        "packages.example.com": encode(v2),
        "bare.example.com": encode(no_version),
    },
    "zz last": {"u": "p"},
}
dump("before.json", before)

# What anaconda-auth writes after saving a new key for a server with a port.
after_save = json.loads(json.dumps(before))
after_save["Anaconda Cloud"]["localhost:8443"] = encode(
    TokenInfo(domain="localhost:8443", api_key="gk-NEWkey123", username="grace")
)
dump("after_save.json", after_save)

# ... after replacing the key of an existing (version 1) entry.
after_update = json.loads(json.dumps(before))
v1_updated = v1.model_copy(update={"api_key": "gk-rotated"})
after_update["Anaconda Cloud"]["old.example.com"] = encode(v1_updated)
dump("after_update.json", after_update)

# ... after logging out of packages.example.com.
after_delete = json.loads(json.dumps(before))
del after_delete["Anaconda Cloud"]["packages.example.com"]
dump("after_delete.json", after_delete)

# A fresh file holding one new entry.
dump(
    "fresh.json",
    {"Anaconda Cloud": {"localhost:8443": encode(
        TokenInfo(domain="localhost:8443", api_key="gk-NEWkey123", username="grace"))}},
)
