#!/usr/bin/env sh
# Register prom-incident-mcp with Claude Code. Pick one.

# stdio: Claude Code starts the server itself
claude mcp add prom-incident -e PROMETHEUS_URL=http://127.0.0.1:9090 -- node /ABSOLUTE/PATH/TO/prom-incident-mcp/dist/main.js

# streamable HTTP: a server you started with `node dist/main.js --transport http`
# claude mcp add --transport http prom-incident-http http://127.0.0.1:8080/mcp
