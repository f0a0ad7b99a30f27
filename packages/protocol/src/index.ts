// @eusn/protocol
