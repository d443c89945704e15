public enum TonleCommand { public static func main() {} }
