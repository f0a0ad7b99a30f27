// @eusn/cli
