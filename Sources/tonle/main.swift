import TonleCLI
TonleCommand.main()
