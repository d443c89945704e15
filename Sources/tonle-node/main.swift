import TonleCLI

await TonleNodeCommand.runMain()
