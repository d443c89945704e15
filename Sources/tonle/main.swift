import TonleCLI

await TonleCommand.runMain()
