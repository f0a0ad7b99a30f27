// @eusn/match
