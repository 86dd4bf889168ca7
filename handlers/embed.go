package handlers

// Owns reports whether text is one of recallbot's own commands (/recall,
// /preview, /confirm, /sent, /audit and their Chinese forms), which a host
// bot should hand to Handle, malformed ones included (recallbot answers
// them with its usage). /help and /status are left to the host.
func (b *Bot) Owns(text string) bool {
	v, ok := verbs[commandWord(text)]
	return ok && v != VerbHelp && v != VerbStatus
}
