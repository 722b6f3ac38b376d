/// The page and its assets, built into the binary (no CDN, no build step, nothing fetched from elsewhere): the
/// files in `Assets/`, embedded by the package manager.
enum DashboardAssets {
    static let indexHTML = String(decoding: PackageResources.index_html, as: UTF8.self)
    static let appJS = String(decoding: PackageResources.app_js, as: UTF8.self)
    static let appCSS = String(decoding: PackageResources.app_css, as: UTF8.self)
}
