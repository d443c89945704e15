import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The block explorer served by a real `tonle-node`, rendered by a real headless browser
/// (Debian's chromium through Selenium and chromium-driver, installed by deploy/test.sh): the live height and a committed transfer on
/// the latest-blocks page, the transaction, the account and the block pages.
extension ProcessTests {
    /// Opens each page in one headless chromium session through Selenium and chromedriver, waits
    /// (up to 30 s) until its JavaScript condition holds, saves a screenshot when a path is given,
    /// and prints "=== URL" then the page's DOM. Exits 1 if a condition never held.
    static let browse = #"""
        import json, sys
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.support.ui import WebDriverWait
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860"]:
            options.add_argument(argument)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        status = 0
        try:
            for page in json.loads(sys.argv[1]):
                driver.get(page["url"])
                try:
                    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return " + page["until"]))
                except Exception as error:
                    status = 1
                    print("TIMEOUT " + page["url"] + " waiting for " + page["until"] + ": " + type(error).__name__)
                if page.get("screenshot"):
                    driver.save_screenshot(page["screenshot"])
                print("=== " + page["url"])
                print(driver.page_source)
        finally:
            driver.quit()
        sys.exit(status)
        """#

    /// Each page's DOM, by URL, once its condition held in the browser.
    func rendered(_ pages: [[String: String]]) throws -> (status: Int32, pages: [String: String], output: String) {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: pages), as: UTF8.self)
        let result = try run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.browse, json], seconds: 240)
        var found: [String: String] = [:]
        for part in result.stdout.components(separatedBy: "=== ").dropFirst() {
            guard let newline = part.firstIndex(of: "\n") else { continue }
            found[String(part[..<newline])] = String(part[newline...])
        }
        return (result.status, found, result.stdout + result.stderr)
    }

    @Test("The explorer in a headless browser: live height, a committed transfer, its transaction, account, block, validator and gateway pages")
    func explorerInABrowser() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "deploy/test.sh installs Debian's chromium and chromium-driver, and selenium")
        }
        try await withNetwork { network in
            let dir = network.directory.path
            let base = "http://127.0.0.1:\(network.rpcPorts[1])"
            let sent = try tonle(["tx", "transfer", "--from", "srey@wing", "--to", "dara@aba", "--amount", "12.34", "--currency", "USD",
                                  "--reference", "explorer", "--key", "\(dir)/keys/wing.key", "--wait", "30", "--json", "--node", base])
            #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
            let id = try #require(sent.json["id"] as? String, "\(sent.stdout)")
            let height = try #require((sent.json["height"] as? NSNumber)?.uint64Value, "\(sent.stdout)")

            // The files, with their types and a strict content security policy; nothing else.
            let (page, response) = try await URLSession.shared.data(from: URL(string: "\(base)/explorer/")!)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.statusCode == 200 && http.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/html") == true)
            #expect(http.value(forHTTPHeaderField: "Content-Security-Policy")?.contains("script-src 'self'") == true)
            #expect(String(decoding: page, as: UTF8.self).contains("<script src=\"/explorer/app.js\"></script>"))
            let missing = try await URLSession.shared.data(from: URL(string: "\(base)/explorer/secrets.txt")!)
            #expect((missing.1 as? HTTPURLResponse)?.statusCode == 404)

            // In the browser: the latest blocks live (the event stream open, the transfer in its
            // block's row), then the transaction, account, block and validator pages.
            let shot = network.directory.appendingPathComponent("explorer.png").path
            let pages: [[String: String]] = [
                ["url": "\(base)/explorer/", "screenshot": shot,
                 "until": "document.getElementById('live-state').textContent === 'live' && document.querySelector('a[href=\"#/tx/\(id)\"]') !== null"],
                ["url": "\(base)/explorer/#/tx/\(id)", "until": "document.querySelector('h1').textContent === 'Transaction'"],
                ["url": "\(base)/explorer/#/account/srey@wing", "until": "document.querySelector('#history table') !== null"],
                ["url": "\(base)/explorer/#/block/\(height)", "until": "document.querySelector('h1').textContent === 'Block \(height)'"],
                ["url": "\(base)/explorer/#/validators", "until": "document.querySelector('h1').textContent === 'Validators'"],
                ["url": "\(base)/explorer/#/gateway/upi", "until": "document.querySelectorAll('h2').length === 2"],
            ]
            let browsed = try rendered(pages)
            #expect(browsed.status == 0, "\(browsed.output.suffix(3_000))")
            let home = browsed.pages["\(base)/explorer/"] ?? ""
            let live = home.range(of: #"id="live-height">(\d+)<"#, options: .regularExpression).map { home[$0] } ?? ""
            #expect((UInt64(live.dropFirst(#"id="live-height">"#.count).dropLast()) ?? 0) >= height, "live height \(live), transfer at \(height)")
            #expect(home.contains("href=\"#/block/\(height)\"") && home.contains(">applied<"), "\(home.prefix(3_000))")
            let transaction = browsed.pages["\(base)/explorer/#/tx/\(id)"] ?? ""
            #expect(transaction.contains(id) && transaction.contains(">applied<") && transaction.contains("href=\"#/block/\(height)\""), "\(transaction.prefix(3_000))")
            let account = browsed.pages["\(base)/explorer/#/account/srey@wing"] ?? ""
            #expect(account.contains("Account srey@wing") && account.contains(">9987.66<") && account.contains(id), "\(account.prefix(4_000))")
            let block = browsed.pages["\(base)/explorer/#/block/\(height)"] ?? ""
            #expect(block.contains("Commit certificate") && block.contains(id), "\(block.prefix(3_000))")
            let validators = browsed.pages["\(base)/explorer/#/validators"] ?? ""
            #expect(validators.contains("a commit needs") && validators.contains(">nbc<"), "\(validators.prefix(3_000))")
            let gateway = browsed.pages["\(base)/explorer/#/gateway/upi"] ?? ""
            #expect(gateway.contains("Net position") && gateway.contains("href=\"#/account/prefund@upi\"") && gateway.contains(">200000.00<"), "\(gateway.prefix(4_000))")
            #expect(FileManager.default.fileExists(atPath: shot), "a screenshot of the latest blocks")
        }
    }
}
