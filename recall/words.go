package recall

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// HumanDuration says d the way a person would, in "zh" or "en": 2 分钟,
// 23 小时 59 分, 30 秒; 2 minutes, 23 h 59 min, 30 seconds. It rounds to
// the second below a minute, to the minute below a day, and to the hour
// beyond.
func HumanDuration(d time.Duration, locale string) string {
	en := locale == "en"
	plural := func(n int64, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	switch {
	case d < time.Minute:
		s := int64((d + time.Second/2) / time.Second)
		if en {
			return plural(s, "second", "seconds")
		}
		return fmt.Sprintf("%d 秒", s)
	case d < time.Hour:
		m := int64((d + time.Minute/2) / time.Minute)
		if en {
			return plural(m, "minute", "minutes")
		}
		return fmt.Sprintf("%d 分钟", m)
	case d < 24*time.Hour:
		d = d.Truncate(time.Minute)
		h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
		switch {
		case m == 0 && en:
			return plural(h, "hour", "hours")
		case m == 0:
			return fmt.Sprintf("%d 小时", h)
		case en:
			return fmt.Sprintf("%d h %d min", h, m)
		}
		return fmt.Sprintf("%d 小时 %d 分", h, m)
	}
	h := int64((d + time.Hour/2) / time.Hour)
	days, h := h/24, h%24
	switch {
	case en && h == 0:
		return plural(days, "day", "days")
	case en:
		return fmt.Sprintf("%s %d h", plural(days, "day", "days"), h)
	case h == 0:
		return fmt.Sprintf("%d 天", days)
	}
	return fmt.Sprintf("%d 天 %d 小时", days, h)
}

// PlainText is markdown as a person reads it once rendered, for the places
// that show a message's excerpt as plain text (the console's lists, the
// CLI): emphasis and code marks, heading and list marks and a link's
// address go; the words stay. Line breaks become " · " so an excerpt stays
// on one line.
func PlainText(md string) string {
	lines := strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n")
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		l = strings.TrimLeft(l, "#")
		l = strings.TrimSpace(l)
		for _, bullet := range []string{"- ", "* ", "+ ", "> "} {
			l = strings.TrimPrefix(l, bullet)
		}
		l = mdLink.ReplaceAllString(l, "$1")
		l = mdMarks.Replace(l)
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " · ")
}

// mdLink is a markdown link or image: its text stays.
var mdLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

// mdMarks are the emphasis and code marks PlainText drops.
var mdMarks = strings.NewReplacer("**", "", "__", "", "`", "", "~~", "")

// AfterHan is word as it follows Chinese text in a sentence: with a space
// before it when it starts with a Latin letter or a digit ("消息包含 AWS
// 访问密钥 ID"), as Chinese typesetting spaces the two scripts apart, and
// without one before Chinese ("消息包含带密码的 URL").
func AfterHan(word string) string {
	if word == "" {
		return word
	}
	if c := word[0]; c < utf8.RuneSelf && (unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c))) {
		return " " + word
	}
	return word
}
