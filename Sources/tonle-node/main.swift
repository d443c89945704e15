import TonleCLI
