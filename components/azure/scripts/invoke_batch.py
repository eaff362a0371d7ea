"""Start one run of an Azure ML batch endpoint (the scheduled job's command; standard library only).

Runs inside the workspace's network as a command job with the platform's managed identity, so it
reaches a private workspace's batch endpoint. Reads MLOPS_BATCH_URI (the endpoint's jobs URI),
MLOPS_BATCH_INPUT and MLOPS_BATCH_OUTPUT (azureml:// datastore URIs), MLOPS_IDENTITY_CLIENT_ID (the
identity whose token is used) and MLOPS_OUTPUT_FILE; prints the batch job's name.
"""

from __future__ import annotations

import datetime
import json
import os
import urllib.parse
import urllib.request

IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"
AUDIENCE = "https://ml.azure.com"


def token(client_id: str) -> str:
    query = urllib.parse.urlencode({"api-version": "2018-02-01", "resource": AUDIENCE, "client_id": client_id})
    request = urllib.request.Request(f"{IMDS}?{query}", headers={"Metadata": "true"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


def invocation(input_uri: str, output_uri: str, output_file: str, day: datetime.date) -> dict[str, object]:
    """The batch endpoint invocation body (REST: POST <endpoint>/jobs); one output folder per day."""
    target = f"{output_uri.rstrip('/')}/{day.isoformat()}/{output_file}"
    return {"properties": {
        "InputData": {"input": {"JobInputType": "UriFolder", "Uri": input_uri}},
        "OutputData": {"score": {"JobOutputType": "UriFile", "Uri": target}},
    }}


def main() -> None:
    body = invocation(os.environ["MLOPS_BATCH_INPUT"], os.environ["MLOPS_BATCH_OUTPUT"],
                      os.environ.get("MLOPS_OUTPUT_FILE", "predictions.csv"),
                      datetime.datetime.now(datetime.UTC).date())
    request = urllib.request.Request(
        os.environ["MLOPS_BATCH_URI"], data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token(os.environ['MLOPS_IDENTITY_CLIENT_ID'])}",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        print(json.load(response).get("name", ""))


if __name__ == "__main__":
    main()
