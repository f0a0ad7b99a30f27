// @eusn/client
