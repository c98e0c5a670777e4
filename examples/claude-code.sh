#!/usr/bin/env sh
# Register prom-incident-mcp with Claude Code. Pick one.

# stdio: Claude Code starts the server itself, from the npm package
claude mcp add prom-incident -e PROMETHEUS_URL=http://127.0.0.1:9090 -- npx -y prom-incident-mcp

# stdio, from a clone (after npm ci)
# claude mcp add prom-incident -e PROMETHEUS_URL=http://127.0.0.1:9090 -- node /ABSOLUTE/PATH/TO/prom-incident-mcp/dist/main.js

# streamable HTTP: a server you started with `node dist/main.js --transport http` (no token on loopback)
# claude mcp add --transport http prom-incident-http http://127.0.0.1:8080/mcp

# streamable HTTP with a token: the in-cluster endpoint (examples/kubernetes), or a port-forward to it
# (oc -n prom-incident-mcp port-forward svc/prom-incident-mcp 8080, then http://localhost:8080/mcp).
# MCP_TOKEN is one line of the Secret prom-incident-mcp-tokens.
# claude mcp add --transport http prom-incident-cluster http://prom-incident-mcp.prom-incident-mcp.svc:8080/mcp \
#   --header "Authorization: Bearer $MCP_TOKEN"
