#!/usr/bin/env bash
# setup.sh wires the seed's fan-out pattern on a running Lapis, with lapis
# commands only: a storage account with an uploads container, the function
# app from this directory, the account's system topic, and one event
# subscription per function. Then an upload to uploads/ reaches all three.
#
#   ./setup.sh                      # uses `lapis` on PATH
#   LAPIS=../../lapis ./setup.sh    # or a built binary
#
# Names can be changed with RG, ACCOUNT and APP.
set -euo pipefail

LAPIS=${LAPIS:-lapis}
RG=${RG:-fanout-rg}
ACCOUNT=${ACCOUNT:-fanoutstore}
APP=${APP:-fanout-app}
APP_DIR=${APP_DIR:-$(cd "$(dirname "$0")" && pwd)}
UPLOADS_PREFIX=/blobServices/default/containers/uploads/

$LAPIS group create -n "$RG" -l eastus -o none
$LAPIS storage account create -n "$ACCOUNT" -g "$RG" -l eastus -o none
for c in uploads thumbnails scans metadata; do
  $LAPIS storage container create -n "$c" --account-name "$ACCOUNT" -o none
done

# The app's AzureWebJobsStorage is the account, so {data.url} blob inputs
# and the outputs use it.
$LAPIS functionapp create -g "$RG" -n "$APP" -s "$ACCOUNT" -c eastus -o none
$LAPIS func publish "$APP" --dir "$APP_DIR"

# Blob events of the account, and a subscription per function.
ACCOUNT_ID=$($LAPIS storage account show -g "$RG" -n "$ACCOUNT" --query id -o tsv)
$LAPIS eventgrid system-topic create -g "$RG" -n "$ACCOUNT-events" \
  --topic-type Microsoft.Storage.StorageAccounts --source "$ACCOUNT_ID" -o none
for fn in thumbnail scan metadata; do
  FUNCTION_ID=$($LAPIS functionapp function show -g "$RG" -n "$APP" --function-name "$fn" --query id -o tsv)
  $LAPIS eventgrid system-topic event-subscription create -g "$RG" --system-topic-name "$ACCOUNT-events" -n "$fn" \
    --endpoint-type azurefunction --endpoint "$FUNCTION_ID" \
    --included-event-types Microsoft.Storage.BlobCreated --subject-begins-with "$UPLOADS_PREFIX" -o none
done

echo "Ready. Upload a file to uploads/, for example:"
echo "  $LAPIS storage blob upload --account-name $ACCOUNT -c uploads -n cat.png -f cat.png"
echo "and see thumbnails/, scans/ and metadata/:"
echo "  $LAPIS storage blob list --account-name $ACCOUNT -c metadata -o table"
