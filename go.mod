module github.com/recallbot/recallbot

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	go.uber.org/zap v1.28.0
	go.yaml.in/yaml/v3 v3.0.6
)

require go.uber.org/multierr v1.10.0 // indirect

require (
	github.com/google/uuid v1.3.0 // indirect
	github.com/open-dingtalk/dingtalk-stream-sdk-go v0.9.2-beta.1
)
