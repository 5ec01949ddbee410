//! zbs-mc: a model checker for the ZBS meta lease / recover-command / topology state machine.
