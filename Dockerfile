# recallbot in a container: a static binary on a distroless base, running as
# an unprivileged user. Build: docker build -t recallbot .
# Run:   docker run -e DINGTALK_CLIENT_SECRET -e RECALLBOT_HTTP_TOKEN \
#          -v $PWD/config.yaml:/etc/recallbot/config.yaml:ro -v recallbot-data:/var/lib/recallbot recallbot
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/recallbot .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/recallbot /usr/local/bin/recallbot
# The embedded ledger lives on this volume (ledger.path: /var/lib/recallbot/recallbot.db).
VOLUME /var/lib/recallbot
# In a container the HTTP API must listen beyond loopback to be reachable:
# set http.listen: 0.0.0.0:8470 and keep the port unpublished or behind a proxy.
EXPOSE 8470
USER nonroot
ENTRYPOINT ["/usr/local/bin/recallbot", "run", "-config", "/etc/recallbot/config.yaml"]
