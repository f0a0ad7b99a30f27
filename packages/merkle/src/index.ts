// @eusn/merkle
