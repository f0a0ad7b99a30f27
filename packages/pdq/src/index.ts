// @eusn/pdq
