import TonleCLI

TonleCommand.runMain()
