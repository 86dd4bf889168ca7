package demo

// interactiveZH and interactiveEN are what demo -interactive prints once
// its scene has played, in the demo's locale: where to play users and how
// to reach the bot. Their verbs are the emulator's URL, the chat, the
// admin, the bot's HTTP token, the bot's HTTP address and the chat escaped
// for a query string. A URL ends its line, so that no punctuation sticks
// to it and no space stands before a colon.
const (
	interactiveZH = `
机器人继续运行（按 Ctrl-C 停止）。在钉钉模拟器的控制台里观看它、扮演用户：

  %[1]s/ui/?chat=%[6]s

也可以用模拟器的控制接口（?wait=5s 会返回机器人的回复）：

  curl -s -XPOST '%[1]s/sim/v1/conversations/%[2]s/messages?wait=5s' \
    -d '{"senderStaffId":"%[3]s","text":"/sent","conversationType":"1"}'
  curl -s %[1]s/sim/v1/conversations/%[2]s        # 会话成员看到的内容

或者通过机器人的 HTTP 接口发送：

  curl -s -H 'Authorization: Bearer %[4]s' -XPOST http://%[5]s/v1/messages \
    -d '{"family":"private","conversation_id":"%[2]s","text":"hello from the API"}'

或者打开机器人自己的控制台，用令牌 %[4]s 和任意名字登录：

  http://%[5]s/ui/
`
	interactiveEN = `
The bot keeps running (Ctrl-C stops it). Watch it and play users in the emulator's console:

  %[1]s/ui/?chat=%[6]s

or through the emulator's control API (?wait=5s returns the bot's replies):

  curl -s -XPOST '%[1]s/sim/v1/conversations/%[2]s/messages?wait=5s' \
    -d '{"senderStaffId":"%[3]s","text":"/sent","conversationType":"1"}'
  curl -s %[1]s/sim/v1/conversations/%[2]s        # the chat as its members see it

Or send through the bot's HTTP API:

  curl -s -H 'Authorization: Bearer %[4]s' -XPOST http://%[5]s/v1/messages \
    -d '{"family":"private","conversation_id":"%[2]s","text":"hello from the API"}'

Or open the bot's own console and log in with the token %[4]s and any name:

  http://%[5]s/ui/
`
)
