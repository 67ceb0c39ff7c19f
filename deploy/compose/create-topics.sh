#!/usr/bin/env bash
# Creates the ticketflow topics (auto-creation is off on the broker).
# Idempotent: existing topics are left as they are.
# Environment: KAFKA_BOOTSTRAP_SERVERS, TOPICS (space-separated), PARTITIONS,
# REPLICATION_FACTOR, MAX_MESSAGE_BYTES.
set -euo pipefail

kafka_topics=/opt/kafka/bin/kafka-topics.sh
# One listing instead of a JVM start per existing topic keeps restarts quick.
existing="$("$kafka_topics" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --list)"
for topic in $TOPICS; do
  if printf '%s\n' "$existing" | grep -qxF "$topic"; then
    continue
  fi
  "$kafka_topics" --bootstrap-server "$KAFKA_BOOTSTRAP_SERVERS" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$REPLICATION_FACTOR" \
    --config "max.message.bytes=$MAX_MESSAGE_BYTES"
done
echo "topics ready: $TOPICS"
