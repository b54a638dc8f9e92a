#!/usr/bin/env bash
# Runs one putitoutthere command for the putitoutthere GitHub Action, with
# the action's inputs as flags. The command itself writes the annotations,
# the step summary and the outputs (matrix, published, tags, releases).
set -uo pipefail

cmd=${PIOT_COMMAND:-}
case "$cmd" in
  plan|publish|doctor|status|preflight|rehearse|prepare|version) ;;
  *) echo "::error title=putitoutthere::input command must be one of plan, publish, doctor, status, preflight, rehearse, prepare, version (got '$cmd')"; exit 2 ;;
esac
args=("$cmd")
if [ -n "${PIOT_CONFIG:-}" ]; then args+=(--config "$PIOT_CONFIG"); fi
if [ -n "${PIOT_TIMEOUT:-}" ]; then args+=(--timeout "$PIOT_TIMEOUT"); fi
case "${PIOT_DRY_RUN:-false}" in
  true) [ "$cmd" = publish ] && args+=(--dry-run) ;;
  false|"") ;;
  *) echo "::error title=putitoutthere::input dry_run must be 'true' or 'false' (got '$PIOT_DRY_RUN')"; exit 2 ;;
esac
if [ -n "${PIOT_ARGS:-}" ]; then
  # Split on whitespace only: no globbing, no shell evaluation of the input.
  set -f
  # shellcheck disable=SC2206
  extra=($PIOT_ARGS)
  set +f
  args+=("${extra[@]}")
fi
putitoutthere "${args[@]}"
rc=$?
if [ $rc -ne 0 ] && [ "${PIOT_FAIL_ON_ERROR:-true}" = false ]; then
  echo "::warning title=putitoutthere::putitoutthere $cmd failed (exit $rc); fail_on_error is false"
  exit 0
fi
exit $rc
